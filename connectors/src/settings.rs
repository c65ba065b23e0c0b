//! Reading a connector's settings: the one reader every module's private settings struct goes
//! through, and the timestamp tolerance the signed-timestamp schemes (Stripe, Calendly, SendGrid
//! events, Mailgun) share. What each key means is documented by the module that reads it.

use serde::Deserialize;
use serde::de::DeserializeOwned;
use serde_json::Value;

use crate::ConnectorError;

/// Settings as the module's private struct; a connector saved without settings has `null`,
/// which means the defaults. Structs refuse unknown keys, so a misspelt one is caught on save.
pub(crate) fn read<T: DeserializeOwned + Default>(value: &Value) -> Result<T, ConnectorError> {
    if value.is_null() {
        return Ok(T::default());
    }
    T::deserialize(value).map_err(|error| ConnectorError::InvalidSettings(error.to_string()))
}

/// `tolerance_secs`: how far a signed timestamp may be from now, in whole seconds, at least 1.
/// 0 would either refuse every delivery or, as in Stripe's SDKs, switch replay protection off;
/// neither is a setting anyone should save by accident.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(try_from = "i64")]
pub(crate) struct ToleranceSecs(i64);

impl ToleranceSecs {
    pub(crate) const DEFAULT: ToleranceSecs = ToleranceSecs::new(300);

    /// A module's default; only ever called in constants, so a bad one fails the build.
    pub(crate) const fn new(secs: i64) -> Self {
        assert!(secs >= 1, "tolerance_secs must be at least 1");
        ToleranceSecs(secs)
    }

    pub(crate) const fn secs(self) -> i64 {
        self.0
    }
}

impl TryFrom<i64> for ToleranceSecs {
    type Error = String;

    fn try_from(secs: i64) -> Result<Self, String> {
        if secs < 1 {
            return Err("tolerance_secs must be at least 1".into());
        }
        Ok(ToleranceSecs(secs))
    }
}

/// The settings of a connector whose only setting is its timestamp tolerance (Stripe, SendGrid
/// events, Mailgun): `{"tolerance_secs": <integer ≥ 1>}`, default 300.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub(crate) struct TimestampSettings {
    pub(crate) tolerance_secs: ToleranceSecs,
}

impl Default for TimestampSettings {
    fn default() -> Self {
        TimestampSettings {
            tolerance_secs: ToleranceSecs::DEFAULT,
        }
    }
}

impl TimestampSettings {
    /// The configured tolerance in seconds.
    pub(crate) fn tolerance(settings: &Value) -> Result<i64, ConnectorError> {
        read::<TimestampSettings>(settings).map(|settings| settings.tolerance_secs.secs())
    }
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    #[test]
    fn null_means_the_defaults_and_unknown_keys_are_refused() {
        assert_eq!(TimestampSettings::tolerance(&Value::Null), Ok(300));
        assert_eq!(
            TimestampSettings::tolerance(&json!({"tolerance_secs": 45})),
            Ok(45)
        );
        for bad in [
            json!({"tolerance_secs": 0}),
            json!({"tolerance_secs": -5}),
            json!({"tolerance_secs": "60"}),
            json!({"tolerence_secs": 60}),
        ] {
            assert!(
                matches!(
                    TimestampSettings::tolerance(&bad),
                    Err(ConnectorError::InvalidSettings(_))
                ),
                "{bad}"
            );
        }
    }
}
