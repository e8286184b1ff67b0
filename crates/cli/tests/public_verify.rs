//! The public's side, on loopback: `verify` over HTTPS with a CA made in the test (and refused without it), the
//! URL rules, and `monitor` printing new decisions, then exiting 7 on a split view.

use std::io::{BufRead, BufReader, Read, Write};
use std::net::TcpListener;
use std::path::{Path, PathBuf};
use std::sync::Arc;

mod common;
use common::oversight;

fn s(p: &Path) -> &str {
    p.to_str().unwrap()
}

/// A test CA, and a certificate it issues for `localhost` and 127.0.0.1: (CA PEM, leaf DER, leaf key DER).
fn test_ca() -> (String, Vec<u8>, Vec<u8>) {
    use rcgen::{BasicConstraints, CertificateParams, ExtendedKeyUsagePurpose, IsCa, Issuer, KeyPair, KeyUsagePurpose};
    let mut ca = CertificateParams::new(Vec::new()).unwrap();
    ca.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
    ca.key_usages = vec![KeyUsagePurpose::KeyCertSign, KeyUsagePurpose::DigitalSignature];
    let ca_key = KeyPair::generate().unwrap();
    let ca_pem = ca.self_signed(&ca_key).unwrap().pem();
    let issuer = Issuer::new(ca, ca_key);
    let mut leaf = CertificateParams::new(vec!["localhost".to_string(), "127.0.0.1".to_string()]).unwrap();
    leaf.extended_key_usages = vec![ExtendedKeyUsagePurpose::ServerAuth];
    leaf.use_authority_key_identifier_extension = true;
    let leaf_key = KeyPair::generate().unwrap();
    let cert = leaf.signed_by(&leaf_key, &issuer).unwrap();
    (ca_pem, cert.der().to_vec(), leaf_key.serialize_der())
}

/// A static HTTPS server of a folder on 127.0.0.1 (GET only, one request per connection), as a CDN serves a log.
fn serve_tls(dir: PathBuf, cert: Vec<u8>, key: Vec<u8>) -> u16 {
    use rustls::pki_types::{CertificateDer, PrivateKeyDer, PrivatePkcs8KeyDer};
    // ring, as ureq's client uses (deprecated only for lacking post-quantum key exchange, which a test CA does not need).
    #[allow(deprecated)]
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let config = rustls::ServerConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .unwrap()
        .with_no_client_auth()
        .with_single_cert(vec![CertificateDer::from(cert)], PrivateKeyDer::Pkcs8(PrivatePkcs8KeyDer::from(key)))
        .unwrap();
    let config = Arc::new(config);
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let port = listener.local_addr().unwrap().port();
    std::thread::spawn(move || {
        for stream in listener.incoming().flatten() {
            let (config, dir) = (config.clone(), dir.clone());
            std::thread::spawn(move || {
                let Ok(conn) = rustls::ServerConnection::new(config) else { return };
                let mut tls = rustls::StreamOwned::new(conn, stream);
                let mut reader = BufReader::new(&mut tls);
                let mut request = String::new();
                if reader.read_line(&mut request).is_err() {
                    return; // the client refused our certificate
                }
                loop {
                    let mut line = String::new();
                    if reader.read_line(&mut line).unwrap_or(0) == 0 || line == "\r\n" {
                        break;
                    }
                }
                let path = request.split_whitespace().nth(1).unwrap_or("/").trim_start_matches('/').to_string();
                let body = if path.split('/').any(|p| p == ".." || p.is_empty()) { None } else { std::fs::read(dir.join(&path)).ok() };
                let head = match &body {
                    Some(b) => format!("HTTP/1.1 200 OK\r\nContent-Length: {}\r\nConnection: close\r\n\r\n", b.len()),
                    None => "HTTP/1.1 404 Not Found\r\nContent-Length: 0\r\nConnection: close\r\n\r\n".to_string(),
                };
                let _ = tls.write_all(head.as_bytes());
                let _ = tls.write_all(&body.unwrap_or_default());
                let _ = tls.flush();
                tls.conn.send_close_notify();
                let _ = tls.flush();
                let mut rest = Vec::new();
                let _ = tls.read_to_end(&mut rest);
            });
        }
    });
    port
}

/// A log of a scan, a decision and an enforcement (tenants under pseudonyms), and its verifier key.
fn a_log(dir: &Path) -> String {
    let (code, vkey, err) = oversight(&["log", "--dir", s(dir), "init", "--origin", "transparency.example.org/oversight"], "");
    assert_eq!(code, 0, "{err}");
    let entries = "{\"kind\":\"scan\",\"findings\":1}\n\
        {\"kind\":\"decision\",\"case\":\"c-1\",\"subject\":\"pseudonym-a\",\"outcome\":\"suspend\",\"services\":[\"storage\",\"ai\"]}\n\
        {\"kind\":\"enforcement\",\"case\":\"c-1\",\"subject\":\"pseudonym-a\",\"document\":\"azure-policy\",\"sha256\":\"00ff\"}\n";
    let (code, _, err) = oversight(&["log", "--dir", s(dir), "append"], entries);
    assert_eq!(code, 0, "{err}");
    vkey.trim().to_string()
}

#[test]
fn verify_reads_a_log_over_https_with_the_given_ca_and_refuses_others() {
    let tmp = tempfile::tempdir().unwrap();
    let log = tmp.path().join("log");
    let key = a_log(&log);
    let (ca, cert, leaf_key) = test_ca();
    let ca_file = tmp.path().join("ca.pem");
    std::fs::write(&ca_file, ca).unwrap();
    let port = serve_tls(log.clone(), cert, leaf_key);
    let url = format!("https://localhost:{port}/");

    let (code, out, err) = oversight(&["verify", "--log", &url, "--ca-file", s(&ca_file), "--key", &key, "--entry", "1", "--full"], "");
    assert_eq!(code, 0, "{out}{err}");
    assert!(out.contains("holds: log signature") && out.contains("holds: every tile") && out.contains("holds: entry inclusion"), "{out}");

    // Without the test CA the certificate chains to no web PKI root: nothing is read.
    let (code, out, _) = oversight(&["verify", "--log", &url, "--key", &key], "");
    assert_eq!(code, 1, "{out}");
    assert!(out.contains("FAILS: checkpoint") && out.to_lowercase().contains("certificate"), "{out}");
    // Another CA is refused the same way.
    let (other, ..) = test_ca();
    let other_file = tmp.path().join("other.pem");
    std::fs::write(&other_file, other).unwrap();
    let (code, out, _) = oversight(&["verify", "--log", &url, "--ca-file", s(&other_file), "--key", &key], "");
    assert_eq!(code, 1, "{out}");

    // Plain HTTP only from this machine; other schemes never.
    for bad in ["http://transparency.example.org/log/", "ftp://127.0.0.1/log/", "https://user@localhost/"] {
        let (code, _, err) = oversight(&["verify", "--log", bad, "--key", &key], "");
        assert_eq!(code, 2, "{bad}: {err}");
    }
    let (code, _, err) = oversight(&["verify", "--log", &url, "--ca-file", s(&tmp.path().join("missing.pem")), "--key", &key], "");
    assert_eq!(code, 2, "{err}");
}

#[test]
fn monitor_prints_new_decisions_once_and_exits_7_on_a_split_view() {
    let tmp = tempfile::tempdir().unwrap();
    let log = tmp.path().join("log");
    let key = a_log(&log);
    let state = tmp.path().join("monitor.state");
    let monitor = |dir: &Path| oversight(&["monitor", "--log", s(dir), "--key", &key, "--state", s(&state)], "");

    let (code, out, err) = monitor(&log);
    assert_eq!(code, 0, "{err}");
    let events: Vec<serde_json::Value> = out.lines().map(|l| serde_json::from_str(l).unwrap()).collect();
    assert_eq!(events.len(), 2, "the decision and the enforcement, not the scan: {out}");
    assert_eq!(
        (events[0]["kind"].as_str(), events[0]["tenant"].as_str(), events[0]["outcome"].as_str()),
        (Some("decision"), Some("pseudonym-a"), Some("suspend"))
    );
    assert_eq!(events[1]["document_sha256"], "00ff");

    // A fork made now, before the log grows: the same key will sign two histories of size 4.
    let fork = tmp.path().join("fork");
    for (from, to) in [(log.clone(), fork.clone()), (tmp.path().join("log.private"), tmp.path().join("fork.private"))] {
        for e in walkdir::WalkDir::new(&from) {
            let e = e.unwrap();
            let target = to.join(e.path().strip_prefix(&from).unwrap());
            if e.file_type().is_dir() {
                std::fs::create_dir_all(&target).unwrap();
            } else {
                std::fs::copy(e.path(), &target).unwrap();
            }
        }
    }
    oversight(&["log", "--dir", s(&log), "append"], "{\"kind\":\"lift\",\"case\":\"c-1\",\"subject\":\"pseudonym-a\"}\n");
    oversight(&["log", "--dir", s(&fork), "append"], "{\"kind\":\"lift\",\"case\":\"c-2\",\"subject\":\"pseudonym-b\"}\n");

    let (code, out, err) = monitor(&log);
    assert_eq!(code, 0, "{err}");
    assert_eq!(out.lines().count(), 1, "only the new lift: {out}");
    assert!(out.contains("\"kind\":\"lift\"") && out.contains("c-1"), "{out}");
    let (code, out, err) = monitor(&log);
    assert_eq!((code, out.as_str()), (0, ""), "nothing new: {err}");

    let (code, out, err) = monitor(&fork);
    assert_eq!(code, 7, "{out}{err}");
    assert!(err.contains("split view"), "{err}");
    // The state still holds the history verified first.
    let (code, _, err) = monitor(&log);
    assert_eq!(code, 0, "{err}");
}
