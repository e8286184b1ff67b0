//! The two local folders of a log: the private one (signing key, lock, checkpoint, stage) must never lie inside the
//! public one, which is served as is, however the paths are spelt; it is created mode 0700 and its files 0600.

use std::path::{Path, PathBuf};

use tlog::log::{Log, LogError};
use tlog::storage::{LayoutError, LocalDir, private_beside};

const ORIGIN: &str = "example.org/layout";

fn refusal(public: &Path, private: &Path) -> LayoutError {
    LocalDir::new(public, private).expect_err(&format!("{} and {} are refused", public.display(), private.display()))
}

#[test]
fn a_private_folder_inside_the_public_one_is_refused() {
    let tmp = tempfile::tempdir().unwrap();
    let public = tmp.path().join("pub");
    for private in [public.join(".private"), public.join("a/b/private")] {
        let err = refusal(&public, &private);
        assert!(matches!(err, LayoutError::PrivateInsidePublic { .. }), "{err:?}");
        let msg = err.to_string();
        assert!(msg.contains(&private.display().to_string()) && msg.contains(&public.display().to_string()), "{msg}");
        // Through the log too, and nothing is written: not even the public folder is created.
        let err = Log::create(&public, &private, ORIGIN, &[1u8; 32]).err().unwrap();
        assert!(matches!(err, LogError::Layout(LayoutError::PrivateInsidePublic { .. })), "{err:?}");
        assert!(!public.exists());
    }
    // Also when the public folder exists, and on open.
    std::fs::create_dir(&public).unwrap();
    assert!(matches!(refusal(&public, &public.join(".private")), LayoutError::PrivateInsidePublic { .. }));
    let err = Log::open(&public, &public.join(".private")).err().unwrap();
    assert!(matches!(err, LogError::Layout(LayoutError::PrivateInsidePublic { .. })), "{err:?}");
    assert_eq!(std::fs::read_dir(&public).unwrap().count(), 0);
}

#[test]
fn one_folder_for_both_or_the_public_inside_the_private_is_refused() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path().join("log");
    assert!(matches!(refusal(&dir, &dir), LayoutError::Same { .. }));
    assert!(matches!(refusal(&dir, &dir.join(".")), LayoutError::Same { .. }));
    let err = refusal(&tmp.path().join("private/pub"), &tmp.path().join("private"));
    assert!(matches!(err, LayoutError::PublicInsidePrivate { .. }), "{err:?}");
    assert!(err.to_string().contains("is inside the private folder"), "{err}");
}

/// `.` and `..` (the CLI's `log --dir .`), relative paths, folders that do not exist yet and symbolic links are
/// resolved before comparing.
#[test]
fn dot_paths_missing_folders_and_links_are_resolved_before_comparing() {
    // Relative to the working folder (nothing is created by a refused or an accepted `new`).
    assert!(matches!(refusal(Path::new("."), Path::new(".")), LayoutError::Same { .. }));
    assert!(matches!(refusal(Path::new("."), Path::new("./log.private")), LayoutError::PrivateInsidePublic { .. }));
    assert!(matches!(refusal(Path::new(".."), Path::new(".")), LayoutError::PrivateInsidePublic { .. }));
    assert!(matches!(refusal(Path::new("."), Path::new("..")), LayoutError::PublicInsidePrivate { .. }));
    let cwd = std::env::current_dir().unwrap();
    assert!(matches!(refusal(&cwd, Path::new("x.private")), LayoutError::PrivateInsidePublic { .. }));

    let tmp = tempfile::tempdir().unwrap();
    let t = tmp.path();
    // `missing/..` is `t` itself, whose folder `log.private` lies inside it.
    assert!(matches!(refusal(&t.join("missing/.."), &t.join("log.private")), LayoutError::PrivateInsidePublic { .. }));
    // A way round through folders that do not exist still lands inside.
    assert!(matches!(refusal(&t.join("pub"), &t.join("a/b/../../pub/./.private")), LayoutError::PrivateInsidePublic { .. }));
    // Spelt differently, one folder.
    assert!(matches!(refusal(&t.join("pub"), &t.join("x/../pub/")), LayoutError::Same { .. }));

    #[cfg(unix)]
    {
        std::fs::create_dir(t.join("pub")).unwrap();
        std::os::unix::fs::symlink(t.join("pub"), t.join("link")).unwrap();
        assert!(matches!(refusal(&t.join("pub"), &t.join("link/.private")), LayoutError::PrivateInsidePublic { .. }));
        assert!(matches!(refusal(&t.join("link"), &t.join("pub/.private")), LayoutError::PrivateInsidePublic { .. }));
        assert!(matches!(refusal(&t.join("link"), &t.join("pub")), LayoutError::Same { .. }));
        // A link to nowhere would be followed on creation: refused rather than guessed.
        std::os::unix::fs::symlink(t.join("nowhere"), t.join("dangling")).unwrap();
        let err = refusal(&t.join("pub"), &t.join("dangling"));
        assert!(matches!(err, LayoutError::Resolve { .. }) && err.to_string().contains("missing target"), "{err}");
    }
}

#[test]
fn folders_apart_are_accepted() {
    let tmp = tempfile::tempdir().unwrap();
    let t = tmp.path();
    for (public, private) in [("log", "log.private"), ("log", "logs"), ("a/log", "b/log"), ("log", "../elsewhere/private")] {
        LocalDir::new(&t.join(public), &t.join(private)).unwrap_or_else(|e| panic!("{public} and {private}: {e}"));
    }
    let mut log = Log::create(&t.join("log"), &t.join("log.private"), ORIGIN, &[2u8; 32]).unwrap();
    log.append(&[b"{}".to_vec()]).unwrap();
    assert_eq!(Log::open(&t.join("log"), &t.join("log.private")).unwrap().size(), 1);
}

#[test]
fn the_default_private_folder_is_beside_the_public_one_even_for_dot() {
    assert_eq!(private_beside(Path::new("oversight-log")).unwrap(), PathBuf::from("oversight-log.private"));
    assert_eq!(private_beside(Path::new("a/log/")).unwrap(), PathBuf::from("a/log.private"));
    let cwd = std::env::current_dir().unwrap().canonicalize().unwrap();
    assert_eq!(private_beside(Path::new(".")).unwrap(), cwd.with_extension("private"));
    assert_eq!(private_beside(Path::new("..")).unwrap(), cwd.parent().unwrap().with_extension("private"));
    let tmp = tempfile::tempdir().unwrap();
    let t = tmp.path().canonicalize().unwrap();
    assert_eq!(private_beside(&t.join("log/missing/..")).unwrap(), t.join("log.private"));
    // Whatever it gives is accepted beside its public folder.
    for public in [Path::new("."), Path::new(".."), &t.join("log/missing/..")] {
        LocalDir::new(public, &private_beside(public).unwrap()).unwrap();
    }
    #[cfg(unix)]
    assert!(matches!(private_beside(Path::new("/")), Err(LayoutError::NoName { .. })));
}

#[cfg(unix)]
fn mode(path: &Path) -> u32 {
    use std::os::unix::fs::PermissionsExt;
    std::fs::metadata(path).unwrap().permissions().mode() & 0o777
}

#[cfg(unix)]
#[test]
fn the_private_folder_is_0700_and_its_files_0600() {
    let tmp = tempfile::tempdir().unwrap();
    // The parents of the private folder are not its to lock down (the public folder may share them).
    let (public, private) = (tmp.path().join("out/log"), tmp.path().join("out/log.private"));
    let mut log = Log::create(&public, &private, ORIGIN, &[3u8; 32]).unwrap();
    log.append(&[b"{}".to_vec()]).unwrap();
    assert_eq!(mode(&private), 0o700);
    for file in ["key", "checkpoint", "lock"] {
        assert_eq!(mode(&private.join(file)), 0o600, "{file}");
    }
    assert_ne!(mode(&tmp.path().join("out")), 0o700);
    assert_ne!(mode(&public), 0o700);
}

/// A temp file a crash left in the private folder keeps its mode when reopened: the key written through it must
/// still be 0600.
#[cfg(unix)]
#[test]
fn the_key_is_0600_even_over_a_stale_temp_file() {
    use std::os::unix::fs::PermissionsExt;
    let tmp = tempfile::tempdir().unwrap();
    let (public, private) = (tmp.path().join("log"), tmp.path().join("log.private"));
    std::fs::create_dir(&private).unwrap();
    std::fs::write(private.join(".key.tmp"), b"stale").unwrap();
    std::fs::set_permissions(private.join(".key.tmp"), std::fs::Permissions::from_mode(0o644)).unwrap();
    Log::create(&public, &private, ORIGIN, &[4u8; 32]).unwrap();
    assert_eq!(mode(&private.join("key")), 0o600);
}
