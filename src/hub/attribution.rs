//! Source classification: which marketing category brought a touch. The rules, in order:
//!
//! 1. A paid click id decides: `gclid` or `msclkid` is paid search; `fbclid` is paid social
//!    when the medium says paid, organic social otherwise (Facebook adds it to every link).
//! 2. Otherwise `utm_medium` decides: `cpc`, `ppc`, `paid_search`, `sem` are paid search (paid
//!    social when the source is a social network); `paid_social`, `paidsocial`, `social_paid`,
//!    `social-paid` are paid social; `email`, `e-mail`, `newsletter` are email; `social`,
//!    `social-media`, `social_network`, `organic_social` are organic social; `organic` is
//!    organic search; `referral` is referral; `offline`, `print`, `event`, `tradeshow`,
//!    `direct_mail`, `qr` are offline; any other medium is another campaign.
//! 3. A `utm_source` without a medium: a search engine is organic search, a social network
//!    organic social, anything else another campaign.
//! 4. Without UTM tags the referrer decides: a search engine is organic search, a social network
//!    organic social, another site a referral, the landing page's own site direct.
//! 5. With nothing to go on, the channel decides: email is email; calls, texts and meetings are
//!    offline; forms, web visits and billing are direct.

use connectors::{Attribution, Channel};
use entity::enums::SourceCategory;

const SEARCH_ENGINES: [&str; 9] = [
    "google",
    "bing",
    "yahoo",
    "duckduckgo",
    "baidu",
    "yandex",
    "ecosia",
    "startpage",
    "brave",
];

const SOCIAL_NETWORKS: [&str; 14] = [
    "facebook",
    "fb",
    "instagram",
    "linkedin",
    "lnkd",
    "twitter",
    "t.co",
    "x",
    "tiktok",
    "youtube",
    "reddit",
    "pinterest",
    "threads",
    "bsky",
];

pub fn classify(attribution: &Attribution, channel: Channel) -> SourceCategory {
    let medium = attribution.medium.as_deref().map(str::to_ascii_lowercase);
    let source = attribution.source.as_deref().map(str::to_ascii_lowercase);
    let social_source = source.as_deref().is_some_and(is_social);

    if attribution.gclid.is_some() || attribution.msclkid.is_some() {
        return SourceCategory::PaidSearch;
    }
    if attribution.fbclid.is_some() {
        return if medium.as_deref().is_some_and(is_paid) {
            SourceCategory::PaidSocial
        } else {
            SourceCategory::OrganicSocial
        };
    }
    if let Some(medium) = medium.as_deref() {
        return by_medium(medium, social_source);
    }
    if let Some(source) = source.as_deref() {
        return if is_search_engine(source) {
            SourceCategory::OrganicSearch
        } else if social_source {
            SourceCategory::OrganicSocial
        } else {
            SourceCategory::OtherCampaign
        };
    }
    if let Some(referrer) = attribution.referrer.as_deref().and_then(host) {
        let landing = attribution.landing_page.as_deref().and_then(host);
        return if is_search_engine(&referrer) {
            SourceCategory::OrganicSearch
        } else if is_social(&referrer) {
            SourceCategory::OrganicSocial
        } else if landing.is_some_and(|landing| same_site(&landing, &referrer)) {
            SourceCategory::Direct
        } else {
            SourceCategory::Referral
        };
    }
    match channel {
        Channel::Email => SourceCategory::Email,
        Channel::Call | Channel::Sms | Channel::Meeting => SourceCategory::Offline,
        Channel::WebForm | Channel::Web | Channel::Billing | Channel::Other => {
            SourceCategory::Direct
        }
    }
}

fn by_medium(medium: &str, social_source: bool) -> SourceCategory {
    match medium {
        "cpc" | "ppc" | "paid_search" | "paidsearch" | "paid-search" | "sem" if social_source => {
            SourceCategory::PaidSocial
        }
        "cpc" | "ppc" | "paid_search" | "paidsearch" | "paid-search" | "sem" => {
            SourceCategory::PaidSearch
        }
        "paid_social" | "paidsocial" | "paid-social" | "social_paid" | "social-paid" => {
            SourceCategory::PaidSocial
        }
        "email" | "e-mail" | "e_mail" | "newsletter" => SourceCategory::Email,
        "social" | "social-media" | "social_media" | "social-network" | "social_network"
        | "organic_social" | "organic-social" => SourceCategory::OrganicSocial,
        "organic" => SourceCategory::OrganicSearch,
        "referral" => SourceCategory::Referral,
        "offline" | "print" | "event" | "tradeshow" | "trade_show" | "direct_mail" | "qr" => {
            SourceCategory::Offline
        }
        _ => SourceCategory::OtherCampaign,
    }
}

fn is_paid(medium: &str) -> bool {
    medium.contains("paid") || matches!(medium, "cpc" | "ppc" | "cpm" | "sem")
}

/// Whether a source name or host names a search engine (`google`, `www.google.co.uk`).
fn is_search_engine(name: &str) -> bool {
    SEARCH_ENGINES.iter().any(|engine| names(name, engine))
}

fn is_social(name: &str) -> bool {
    SOCIAL_NETWORKS.iter().any(|network| names(name, network))
}

/// Whether `name` is `brand` itself or a host with `brand` as one of its labels.
fn names(name: &str, brand: &str) -> bool {
    name == brand
        || name
            .split('.')
            .collect::<Vec<_>>()
            .windows(brand.split('.').count())
            .any(|labels| labels.join(".") == brand)
}

/// The lowercase host of a URL, without `www.`.
fn host(url: &str) -> Option<String> {
    let rest = url.split_once("://").map_or(url, |(_, rest)| rest);
    let host = rest.split(['/', '?', '#']).next()?;
    let host = host.rsplit_once('@').map_or(host, |(_, host)| host);
    let host = host.split(':').next()?.to_ascii_lowercase();
    let host = host.strip_prefix("www.").unwrap_or(&host).to_owned();
    (!host.is_empty()).then_some(host)
}

fn same_site(a: &str, b: &str) -> bool {
    a == b || a.ends_with(&format!(".{b}")) || b.ends_with(&format!(".{a}"))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn utm(source: Option<&str>, medium: Option<&str>) -> Attribution {
        Attribution {
            source: source.map(Into::into),
            medium: medium.map(Into::into),
            ..Attribution::default()
        }
    }

    #[test]
    fn click_ids_decide_first() {
        let mut a = utm(Some("newsletter"), Some("email"));
        a.gclid = Some("abc".into());
        assert_eq!(classify(&a, Channel::WebForm), SourceCategory::PaidSearch);
        let mut a = utm(None, None);
        a.fbclid = Some("abc".into());
        assert_eq!(
            classify(&a, Channel::WebForm),
            SourceCategory::OrganicSocial
        );
        a.medium = Some("paid".into());
        assert_eq!(classify(&a, Channel::WebForm), SourceCategory::PaidSocial);
    }

    #[test]
    fn the_medium_decides_without_click_ids() {
        let cases = [
            (Some("google"), "cpc", SourceCategory::PaidSearch),
            (Some("linkedin"), "cpc", SourceCategory::PaidSocial),
            (Some("facebook"), "paid_social", SourceCategory::PaidSocial),
            (Some("mailchimp"), "email", SourceCategory::Email),
            (Some("twitter"), "social", SourceCategory::OrganicSocial),
            (Some("google"), "organic", SourceCategory::OrganicSearch),
            (
                Some("partner.example"),
                "referral",
                SourceCategory::Referral,
            ),
            (Some("expo"), "tradeshow", SourceCategory::Offline),
            (Some("adnet"), "display", SourceCategory::OtherCampaign),
        ];
        for (source, medium, expected) in cases {
            assert_eq!(
                classify(&utm(source, Some(medium)), Channel::WebForm),
                expected,
                "{source:?} / {medium}"
            );
        }
    }

    #[test]
    fn a_source_alone_is_judged_by_who_it_is() {
        assert_eq!(
            classify(&utm(Some("bing"), None), Channel::Web),
            SourceCategory::OrganicSearch
        );
        assert_eq!(
            classify(&utm(Some("instagram"), None), Channel::Web),
            SourceCategory::OrganicSocial
        );
        assert_eq!(
            classify(&utm(Some("spring-promo"), None), Channel::Web),
            SourceCategory::OtherCampaign
        );
    }

    #[test]
    fn the_referrer_decides_without_tags() {
        let with_referrer = |referrer: &str| Attribution {
            referrer: Some(referrer.into()),
            landing_page: Some("https://www.acme.test/pricing".into()),
            ..Attribution::default()
        };
        let cases = [
            ("https://www.google.co.uk/", SourceCategory::OrganicSearch),
            ("https://t.co/xyz", SourceCategory::OrganicSocial),
            ("https://blog.partner.test/post", SourceCategory::Referral),
            ("https://acme.test/home", SourceCategory::Direct),
        ];
        for (referrer, expected) in cases {
            assert_eq!(
                classify(&with_referrer(referrer), Channel::WebForm),
                expected,
                "{referrer}"
            );
        }
    }

    #[test]
    fn the_channel_decides_with_nothing_else() {
        let none = Attribution::default();
        assert_eq!(classify(&none, Channel::Email), SourceCategory::Email);
        assert_eq!(classify(&none, Channel::Call), SourceCategory::Offline);
        assert_eq!(classify(&none, Channel::WebForm), SourceCategory::Direct);
    }

    #[test]
    fn brands_match_whole_labels_only() {
        assert!(is_search_engine("www.google.com"));
        assert!(!is_search_engine("googleplex-fans.test"));
        assert!(is_social("x"));
        assert!(!is_social("example.com"));
    }
}
