//! The domain a website or domain names.

/// The domain a website or domain names, for matching: `https://www.Acme.com:443/about` is
/// `acme.com`. Scheme, `www.`, port, path and case are dropped and international names become
/// their ASCII form; `None` when there is no domain name in it (an IP address, a word).
pub fn domain(raw: &str) -> Option<String> {
    let raw = raw.trim();
    let url = if raw.contains("://") {
        url::Url::parse(raw)
    } else {
        url::Url::parse(&format!("http://{raw}"))
    }
    .ok()?;
    let host = url.domain()?.trim_end_matches('.');
    let host = host.strip_prefix("www.").unwrap_or(host);
    host.contains('.').then(|| host.to_owned())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn websites_fold_to_the_domain_they_name() {
        for raw in [
            "https://www.Acme.com/about",
            "acme.com",
            "WWW.ACME.COM",
            "http://acme.com:8080/x?y#z",
            " https://user@acme.com. ",
        ] {
            assert_eq!(domain(raw).as_deref(), Some("acme.com"), "{raw}");
        }
        assert_eq!(
            domain("https://bücher.de").as_deref(),
            Some("xn--bcher-kva.de")
        );
        assert_eq!(
            domain("shop.acme.co.uk").as_deref(),
            Some("shop.acme.co.uk")
        );
        for raw in ["", "acme", "http://10.0.0.1/", "\0"] {
            assert_eq!(domain(raw), None, "{raw}");
        }
    }
}
