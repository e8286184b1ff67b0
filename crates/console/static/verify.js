// Re-checks in the browser what the server checked on this page, from the entry, its audit path, the signed
// checkpoint and the log's public key alone:
// 1. the checkpoint (a C2SP signed note) carries an Ed25519 signature by the log's key that verifies on its text;
// 2. the entry's leaf hash SHA-256(0x00 || entry), taken up the audit path with SHA-256(0x01 || left || right)
//    (RFC 6962 hashing, verified as RFC 9162 section 2.1.3.2 says), gives the root that checkpoint signs.
// WebCrypto does the hashing and the signature; a browser without Ed25519 in WebCrypto checks the path only, and says so.
"use strict";

(async function () {
  const out = document.getElementById("browser-check");
  if (!out) {
    return;
  }
  const bytes = (b64) => Uint8Array.from(atob(b64), (c) => c.charCodeAt(0));
  const hex = (b) => Array.from(b, (x) => x.toString(16).padStart(2, "0")).join("");
  const sha256 = async (...parts) => {
    const all = new Uint8Array(parts.reduce((n, p) => n + p.length, 0));
    let at = 0;
    for (const p of parts) {
      all.set(p, at);
      at += p.length;
    }
    return new Uint8Array(await crypto.subtle.digest("SHA-256", all));
  };
  const same = (a, b) => a.length === b.length && a.every((x, i) => x === b[i]);
  const show = (ok, text) => {
    out.textContent = text;
    out.className = ok ? "check ok" : "check fail";
    out.dataset.result = ok ? "verified" : "failed";
  };

  /** Whether a signature line of `note` by the key `vkey` (name+hex id+base64(0x01 || key)) verifies; null if the browser cannot tell. */
  async function signedBy(note, vkey) {
    // A key name holds no "+", the base64 key may.
    const [i, j] = [vkey.indexOf("+"), vkey.indexOf("+", vkey.indexOf("+") + 1)];
    const [name, id, key] = [vkey.slice(0, i), vkey.slice(i + 1, j), bytes(vkey.slice(j + 1))];
    if (key.length !== 33 || key[0] !== 1) {
      throw new Error("the log's key is not an Ed25519 key");
    }
    let publicKey;
    try {
      publicKey = await crypto.subtle.importKey("raw", key.slice(1), { name: "Ed25519" }, false, ["verify"]);
    } catch (e) {
      // Only a browser without Ed25519 is excused; a malformed key fails the check.
      if (e.name === "NotSupportedError") {
        return null;
      }
      throw e;
    }
    const text = new TextEncoder().encode(note.text);
    for (const line of note.signatures) {
      const [who, sig] = line.slice(2).split(" ");
      const raw = bytes(sig);
      if (who === name && raw.length === 68 && hex(raw.slice(0, 4)) === id && (await crypto.subtle.verify({ name: "Ed25519" }, publicKey, raw.slice(4), text))) {
        return true;
      }
    }
    return false;
  }

  try {
    if (!window.crypto || !crypto.subtle) {
      throw new Error("this browser offers no WebCrypto on this page (it needs HTTPS or localhost)");
    }
    const d = out.dataset;
    // A signed note: its text up to the blank line (ending with a newline), then its signature lines.
    const whole = new TextDecoder().decode(bytes(d.note));
    const blank = whole.indexOf("\n\n");
    if (blank < 0) {
      throw new Error("the checkpoint is not a signed note");
    }
    const note = { text: whole.slice(0, blank + 1), signatures: whole.slice(blank + 2).split("\n").filter((l) => l.startsWith("\u2014 ")) };
    const signed = await signedBy(note, d.vkey);
    if (signed === false) {
      throw new Error("no signature by the log's key verifies on the checkpoint");
    }
    const [, sizeLine, rootLine] = note.text.split("\n");
    const root = bytes(rootLine);
    const path = d.hashes ? d.hashes.split(" ").map(bytes) : [];
    let fn = BigInt(d.index);
    let sn = BigInt(sizeLine) - 1n;
    if (fn > sn) {
      throw new Error("the entry is outside the checkpoint's tree");
    }
    let r = await sha256(new Uint8Array([0]), bytes(d.leaf));
    for (const p of path) {
      if (sn === 0n) {
        throw new Error("the audit path is longer than this tree allows");
      }
      if ((fn & 1n) === 1n || fn === sn) {
        r = await sha256(new Uint8Array([1]), p, r);
        while ((fn & 1n) === 0n && fn !== 0n) {
          fn >>= 1n;
          sn >>= 1n;
        }
      } else {
        r = await sha256(new Uint8Array([1]), r, p);
      }
      fn >>= 1n;
      sn >>= 1n;
    }
    if (sn !== 0n) {
      throw new Error("the audit path is shorter than this tree needs");
    }
    if (!same(r, root)) {
      throw new Error("the root computed from the entry and its audit path is not the one the checkpoint signs");
    }
    const pathDone = "the entry's audit path (" + path.length + " hashes) leads to the root it signs.";
    show(
      true,
      signed
        ? "Verified in your browser too: the checkpoint's Ed25519 signature by the log's key holds, and " + pathDone
        : "Partly verified in your browser: it cannot check Ed25519 signatures (the server did), but " + pathDone,
    );
  } catch (e) {
    show(false, "NOT verified in your browser: " + e.message + ".");
  }
})();
