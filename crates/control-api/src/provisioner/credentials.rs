//! What the provisioner puts into DDL that it cannot bind as a parameter: identifiers it
//! generated, checked again before quoting, and role passwords, sent only as SCRAM
//! verifiers computed here.

use anyhow::bail;
use secrecy::{ExposeSecret, SecretString};

/// A PostgreSQL identifier we generated: only `[a-z0-9_]`, at most 63 bytes.
pub(super) fn ident(name: &str) -> anyhow::Result<String> {
    let ok = !name.is_empty()
        && name.len() <= 63
        && name
            .bytes()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'_');
    if !ok {
        bail!("refusing unsafe identifier");
    }
    Ok(format!("\"{name}\""))
}

/// The `PASSWORD '...'` literal for a password we generated: its SCRAM-SHA-256 verifier
/// (`SCRAM-SHA-256$4096:salt$stored:server`, random salt), computed here so the plaintext
/// never travels in SQL, where statement logging or `pg_stat_activity` would record it.
pub(super) fn password_verifier(pw: &SecretString) -> anyhow::Result<String> {
    if !pw
        .expose_secret()
        .bytes()
        .all(|b| b.is_ascii_alphanumeric())
    {
        bail!("refusing unsafe password literal");
    }
    let verifier = postgres_protocol::password::scram_sha_256(pw.expose_secret().as_bytes());
    // Base64, `$` and `:` only, so it quotes safely; checked rather than assumed.
    if !verifier
        .bytes()
        .all(|b| b.is_ascii_alphanumeric() || b"+/=$:-".contains(&b))
    {
        bail!("refusing unsafe password verifier");
    }
    Ok(format!("'{verifier}'"))
}

/// A fresh random password for a tenant role.
pub(crate) fn generate_password() -> SecretString {
    use rand::Rng;
    use rand::distr::Alphanumeric;
    SecretString::from(
        rand::rng()
            .sample_iter(&Alphanumeric)
            .take(40)
            .map(char::from)
            .collect::<String>(),
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn role_passwords_travel_as_scram_verifiers_never_as_plaintext() {
        let pw = generate_password();
        let literal = password_verifier(&pw).expect("a verifier");
        assert!(literal.starts_with("'SCRAM-SHA-256$4096:"), "{literal}");
        assert!(
            !literal.contains(pw.expose_secret()),
            "the plaintext is in the SQL"
        );
        // A fresh salt each time: two roles with one password do not share a verifier.
        assert_ne!(literal, password_verifier(&pw).expect("a verifier"));
        assert!(password_verifier(&SecretString::from("x'; DROP".to_string())).is_err());
    }
}
