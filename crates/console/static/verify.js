// Re-checks in the browser the inclusion proof the server checked on this page: the entry's leaf hash
// SHA-256(0x00 || entry), then up the audit path with SHA-256(0x01 || left || right), as RFC 6962 hashes and
// RFC 9162 section 2.1.3.2 verifies, to the root of the checkpoint shown. WebCrypto does the hashing; the
// checkpoint's signature is checked by the server (and by `oversight verify`).
"use strict";

(async function () {
  const out = document.getElementById("browser-check");
  if (!out) {
    return;
  }
  const bytes = (b64) => Uint8Array.from(atob(b64), (c) => c.charCodeAt(0));
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
  try {
    if (!window.crypto || !crypto.subtle) {
      throw new Error("this browser offers no WebCrypto on this page (it needs HTTPS or localhost)");
    }
    const d = out.dataset;
    const path = d.hashes ? d.hashes.split(" ").map(bytes) : [];
    const root = bytes(d.root);
    let fn = BigInt(d.index);
    let sn = BigInt(d.size) - 1n;
    if (fn > sn) {
      throw new Error("the index is outside the tree");
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
      throw new Error("the root computed from the entry and its audit path is not the checkpoint's root");
    }
    show(true, "Verified in your browser too: hashing this entry up its audit path (" + path.length + " hashes) gives the checkpoint's root.");
  } catch (e) {
    show(false, "NOT verified in your browser: " + e.message + ".");
  }
})();
