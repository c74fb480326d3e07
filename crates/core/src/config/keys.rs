//! The secrets both planes read the same way: the credential keyring (`MASTER_KEY*`) and the
//! plane's own JWT secret, which must differ from the other plane's.

use super::{ConfigError, Env, jwt_secret, master_key, optional};
use crate::crypto::Keyring;
use secrecy::{ExposeSecret, SecretString};

/// Which plane is reading its secrets: decides whose JWT secret is ours and whose is the other's.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Plane {
    Control,
    App,
}

impl Plane {
    fn jwt_vars(self) -> (&'static str, &'static str) {
        match self {
            Self::Control => ("CONTROL_JWT_SECRET", "APP_JWT_SECRET"),
            Self::App => ("APP_JWT_SECRET", "CONTROL_JWT_SECRET"),
        }
    }
}

/// The keyring and the JWT secret of one plane.
pub struct Keys {
    pub keyring: Keyring,
    pub jwt_secret: SecretString,
}

/// Reads `MASTER_KEY`, `MASTER_KEY_VERSION`, the optional previous key and the plane's JWT
/// secret. A previous key under the current version would silently replace the current key
/// for decryption, so it is refused here rather than surfacing as 500s per tenant; a JWT
/// secret shared by both planes would let one plane's tokens pass the other's signature check.
pub fn from_env(env: &dyn Env, plane: Plane) -> Result<Keys, ConfigError> {
    let master = master_key(env, "MASTER_KEY")?;
    let version: i16 = optional(env, "MASTER_KEY_VERSION", 1)?;
    let mut keyring = Keyring::new(version, &master);
    if env.get("MASTER_KEY_PREVIOUS").is_some() {
        let old = master_key(env, "MASTER_KEY_PREVIOUS")?;
        let old_version: i16 =
            optional(env, "MASTER_KEY_PREVIOUS_VERSION", version.wrapping_sub(1))?;
        if old_version == version {
            return Err(ConfigError::Invalid {
                var: "MASTER_KEY_PREVIOUS_VERSION",
                reason: "must differ from MASTER_KEY_VERSION".into(),
            });
        }
        keyring.add(old_version, &old);
    }
    let (own, other) = plane.jwt_vars();
    let jwt_secret = jwt_secret(env, own)?;
    if env
        .get(other)
        .is_some_and(|theirs| theirs == jwt_secret.expose_secret())
    {
        return Err(ConfigError::Invalid {
            var: own,
            reason: format!("must differ from {other}"),
        });
    }
    Ok(Keys {
        keyring,
        jwt_secret,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use base64::Engine as _;
    use std::collections::HashMap;

    /// A strong-looking key per `seed`: 32 distinct bytes (weak-secret detection refuses
    /// repeats).
    fn b64(seed: u8) -> String {
        let bytes: Vec<u8> = (0..32u8)
            .map(|i| i.wrapping_mul(37).wrapping_add(seed))
            .collect();
        base64::engine::general_purpose::STANDARD.encode(bytes)
    }

    fn env(extra: &[(&str, &str)]) -> HashMap<String, String> {
        let mut env: HashMap<String, String> = [
            ("MASTER_KEY", b64(1)),
            (
                "APP_JWT_SECRET",
                "app-Zq3v8LmN1xR7tY2wK9pB4sD6fH0jG5cE".into(),
            ),
            (
                "CONTROL_JWT_SECRET",
                "ctl-Wd7Hk2Np9Qs4Tv6Xz1Bm3Cf8Gj5Lr0Ye".into(),
            ),
        ]
        .into_iter()
        .map(|(k, v)| (k.to_string(), v))
        .collect();
        for (k, v) in extra {
            env.insert(k.to_string(), v.to_string());
        }
        env
    }

    fn refusal(env: &HashMap<String, String>, plane: Plane) -> String {
        match from_env(env, plane) {
            Ok(_) => panic!("{plane:?} accepted the settings"),
            Err(e) => e.to_string(),
        }
    }

    #[test]
    fn previous_key_under_the_current_version_is_refused_by_both_planes() {
        let previous = b64(2);
        let env = env(&[
            ("MASTER_KEY_VERSION", "3"),
            ("MASTER_KEY_PREVIOUS", &previous),
            ("MASTER_KEY_PREVIOUS_VERSION", "3"),
        ]);
        for plane in [Plane::Control, Plane::App] {
            assert!(refusal(&env, plane).starts_with("MASTER_KEY_PREVIOUS_VERSION is invalid"));
        }
    }

    #[test]
    fn previous_key_defaults_to_the_version_before() {
        let previous = b64(2);
        let keys = from_env(
            &env(&[
                ("MASTER_KEY_VERSION", "3"),
                ("MASTER_KEY_PREVIOUS", &previous),
            ]),
            Plane::App,
        )
        .map_err(|e| e.to_string());
        let keys = keys.as_ref().map(|k| k.keyring.current_version());
        assert_eq!(keys, Ok(3));
    }

    #[test]
    fn a_jwt_secret_shared_by_both_planes_is_refused_naming_our_variable() {
        let same = "both-Pk4Rm8Tx2Vz6Bn1Cq5Dw9Fh3Gj7Ks0L";
        let env = env(&[("APP_JWT_SECRET", same), ("CONTROL_JWT_SECRET", same)]);
        assert!(refusal(&env, Plane::App).starts_with("APP_JWT_SECRET is invalid"));
        assert!(refusal(&env, Plane::Control).starts_with("CONTROL_JWT_SECRET is invalid"));
    }

    #[test]
    fn each_plane_takes_its_own_secret() {
        let mut env = env(&[]);
        env.remove("CONTROL_JWT_SECRET");
        assert!(from_env(&env, Plane::App).is_ok());
        assert_eq!(
            refusal(&env, Plane::Control),
            "CONTROL_JWT_SECRET is not set"
        );
    }
}
