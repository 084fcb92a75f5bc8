//! SSHSIG signatures, byte-compatible with `ssh-keygen -Y sign -n report`.
//!
//! OpenSSH's `PROTOCOL.sshsig`: the signed blob is `"SSHSIG" || namespace || reserved ||
//! hash_alg || H(message)`; `ssh-keygen` uses `sha512` and armors the result between
//! `-----BEGIN SSH SIGNATURE-----` / `-----END SSH SIGNATURE-----` with 70-column base64 lines and
//! a final newline. Ed25519 signatures are deterministic, so for an ed25519 key our armor is
//! identical to `ssh-keygen`'s; ECDSA ones differ per run but verify the same way.

use std::path::Path;

use ssh_key::{Algorithm, EcdsaCurve, HashAlg, LineEnding, PrivateKey};
use zeroize::Zeroizing;

use super::PublishError;

/// The SSHSIG namespace the compliance monitor verifies with (`ssh-keygen -Y verify -n report`).
pub const NAMESPACE: &str = "report";

/// Load an unencrypted OpenSSH private key we can sign with (ed25519, ecdsa-sha2-nistp256/384).
///
/// Errors name the file and the reason, never the content.
pub fn load_signing_key(path: &Path) -> Result<PrivateKey, PublishError> {
    let text =
        Zeroizing::new(
            std::fs::read(path).map_err(|source| PublishError::KeyUnreadable {
                path: path.to_owned(),
                source,
            })?,
        );
    let unsupported = |reason: String| PublishError::KeyUnsupported {
        path: path.to_owned(),
        reason,
    };
    let trimmed = text.trim_ascii_start();
    if !trimmed.starts_with(b"-----BEGIN OPENSSH PRIVATE KEY-----") {
        let what = if trimmed.starts_with(b"-----BEGIN ") {
            "a PEM key that is not in OpenSSH format (convert with `ssh-keygen -p -f FILE`, which \
             rewrites it as OPENSSH PRIVATE KEY)"
        } else if trimmed.starts_with(b"ssh-") || trimmed.starts_with(b"ecdsa-") {
            "a public key; pass the private key file"
        } else {
            "not an OpenSSH private key (expected -----BEGIN OPENSSH PRIVATE KEY-----)"
        };
        return Err(unsupported(what.to_owned()));
    }
    let key = PrivateKey::from_openssh(&*text)
        .map_err(|e| unsupported(format!("cannot decode it: {e}")))?;
    if key.is_encrypted() {
        return Err(PublishError::KeyEncrypted {
            path: path.to_owned(),
        });
    }
    match key.algorithm() {
        Algorithm::Ed25519 => {}
        Algorithm::Ecdsa {
            curve: EcdsaCurve::NistP256 | EcdsaCurve::NistP384,
        } => {}
        other => {
            return Err(unsupported(format!(
                "key type {} is not supported for signing; use ed25519 (`ssh-keygen -t ed25519`) \
                 or ecdsa P-256/P-384",
                other.as_str()
            )));
        }
    }
    Ok(key)
}

/// Sign `report_bytes` as `ssh-keygen -Y sign -n report` does and return the armored signature
/// (ends with `-----END SSH SIGNATURE-----\n`).
pub fn sign_report(report_bytes: &[u8], key: &PrivateKey) -> Result<String, PublishError> {
    let sig = key
        .sign(NAMESPACE, HashAlg::Sha512, report_bytes)
        .map_err(|e| PublishError::Signing(e.to_string()))?;
    let mut armored = sig
        .to_pem(LineEnding::LF)
        .map_err(|e| PublishError::Signing(e.to_string()))?;
    if !armored.ends_with('\n') {
        armored.push('\n');
    }
    Ok(armored)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn test_key() -> PrivateKey {
        PrivateKey::from(ssh_key::private::Ed25519Keypair::from_seed(&[7; 32]))
    }

    #[test]
    fn armor_shape() {
        let key = test_key();
        let armored = sign_report(b"---\nsubject: x\n", &key).unwrap();
        assert!(armored.starts_with("-----BEGIN SSH SIGNATURE-----\n"));
        assert!(armored.ends_with("-----END SSH SIGNATURE-----\n"));
        assert!(armored.lines().all(|l| l.len() <= 70), "{armored}");
        let parsed = ssh_key::SshSig::from_pem(&armored).unwrap();
        assert_eq!(parsed.namespace(), NAMESPACE);
        assert_eq!(parsed.hash_alg(), HashAlg::Sha512);
        key.public_key()
            .verify(NAMESPACE, b"---\nsubject: x\n", &parsed)
            .unwrap();
        assert!(
            key.public_key()
                .verify(NAMESPACE, b"---\nsubject: y\n", &parsed)
                .is_err()
        );
    }

    #[test]
    fn rejects_non_keys_without_quoting_them() {
        let dir = tempfile::tempdir().unwrap();
        for (name, content) in [
            (
                "pub",
                "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAILM+rtkdEV3gXMK9SBNXmcfX60nVyD4/1sR3egIOphxj x\n",
            ),
            (
                "pem",
                "-----BEGIN RSA PRIVATE KEY-----\nMIIsecretish\n-----END RSA PRIVATE KEY-----\n",
            ),
            ("junk", "hello\n"),
            (
                "broken",
                "-----BEGIN OPENSSH PRIVATE KEY-----\nAAAAsecretish\n-----END OPENSSH PRIVATE KEY-----\n",
            ),
        ] {
            let path = dir.path().join(name);
            std::fs::write(&path, content).unwrap();
            let err = load_signing_key(&path).unwrap_err();
            let text = format!("{err} {err:?}");
            assert!(matches!(err, PublishError::KeyUnsupported { .. }), "{text}");
            assert!(text.contains(name), "{text}");
            assert!(
                !text.contains("secretish") && !text.contains("AAAAC3Nza"),
                "{text}"
            );
        }
        let missing = dir.path().join("missing");
        assert!(matches!(
            load_signing_key(&missing),
            Err(PublishError::KeyUnreadable { .. })
        ));
    }
}
