//! Redirect URIs: what a client may register (DESIGN §4) and whether a request's URI matches one.
//!
//! Matching compares raw strings, never parsed-and-normalised URLs: normalisation would let
//! `https://app.example/cb/../evil`, `HTTPS://APP.EXAMPLE/cb` or `https://app.example/cb#x` match
//! `https://app.example/cb`. The only freedom is RFC 8252 §7.3: for a registered
//! `http://127.0.0.1…` or `http://[::1]…` URI, the port may differ (native apps listen on an
//! ephemeral port). `localhost` gets no such freedom (RFC 8252 §8.3 advises against it).

/// Longer URIs are refused at registration; they only serve to bloat requests and logs.
pub const MAX_LEN: usize = 2000;

/// Loopback literals whose port may vary, as the registered URI must spell them.
const LOOPBACK_IP_PREFIXES: [&str; 2] = ["http://127.0.0.1", "http://[::1]"];
/// Hosts on which plain http may be registered.
const LOOPBACK_HOSTS: [&str; 3] = ["127.0.0.1", "[::1]", "localhost"];

/// Why a redirect URI cannot be registered; reported as RFC 7591 `invalid_redirect_uri`.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum InvalidRedirectUri {
    #[error("redirect URI is empty")]
    Empty,
    #[error("redirect URI is longer than {MAX_LEN} characters")]
    TooLong,
    #[error("redirect URI must be an absolute URI")]
    NotAbsolute,
    #[error("redirect URI holds whitespace, control or non-ASCII characters, or a backslash")]
    BadCharacter,
    #[error("redirect URI must not contain a fragment")]
    Fragment,
    #[error("redirect URI must not contain a wildcard")]
    Wildcard,
    #[error("redirect URI must not contain user information")]
    UserInfo,
    #[error("redirect URI must not contain `.` or `..` path segments")]
    DotSegment,
    #[error("redirect URI scheme must be https (or http on a loopback host)")]
    UnsupportedScheme,
    #[error("http redirect URIs are allowed only on 127.0.0.1, [::1] or localhost")]
    InsecureHttp,
}

/// Checks a redirect URI (or post-logout redirect URI) a client wants to register. On success the
/// string is stored exactly as given.
pub fn validate_registration(uri: &str) -> Result<(), InvalidRedirectUri> {
    if uri.is_empty() {
        return Err(InvalidRedirectUri::Empty);
    }
    if uri.len() > MAX_LEN {
        return Err(InvalidRedirectUri::TooLong);
    }
    // The URL parser silently drops tabs and newlines and reads `\` as `/`: refuse them, so the
    // string we store is the URL the browser will go to.
    if !uri.bytes().all(|b| b.is_ascii_graphic()) || uri.contains('\\') {
        return Err(InvalidRedirectUri::BadCharacter);
    }
    if uri.contains('#') {
        return Err(InvalidRedirectUri::Fragment);
    }
    if uri.contains('*') {
        return Err(InvalidRedirectUri::Wildcard);
    }
    let parsed = url::Url::parse(uri).map_err(|_| InvalidRedirectUri::NotAbsolute)?;
    let scheme = parsed.scheme();
    if scheme != "https" && scheme != "http" {
        return Err(InvalidRedirectUri::UnsupportedScheme);
    }
    // From here on the raw text is examined: the parser would accept `https:/host`,
    // `http://0x7f.1` (= 127.0.0.1) and the like, and normalise them away.
    let after_scheme = &uri[scheme.len()..];
    let Some(rest) = after_scheme.strip_prefix("://") else {
        return Err(InvalidRedirectUri::NotAbsolute);
    };
    let (authority, path_and_query) = split_authority(rest);
    if authority.contains('@') {
        return Err(InvalidRedirectUri::UserInfo);
    }
    let host = host_of(authority);
    if host.is_empty() {
        return Err(InvalidRedirectUri::NotAbsolute);
    }
    if !scheme_is_lowercase(uri, scheme) {
        return Err(InvalidRedirectUri::UnsupportedScheme);
    }
    if scheme == "http" && !LOOPBACK_HOSTS.iter().any(|h| host.eq_ignore_ascii_case(h)) {
        return Err(InvalidRedirectUri::InsecureHttp);
    }
    if has_dot_segment(path_and_query) {
        return Err(InvalidRedirectUri::DotSegment);
    }
    Ok(())
}

/// Whether `requested` (from an authorization or logout request) matches the `registered` URI:
/// byte for byte, except that a registered loopback IP URI accepts any port.
pub fn matches(registered: &str, requested: &str) -> bool {
    if registered == requested {
        return true;
    }
    let Some(prefix) = LOOPBACK_IP_PREFIXES.iter().find(|p| registered.starts_with(*p)) else {
        return false;
    };
    let (Some(reg_tail), Some(req_tail)) = (
        after_port(&registered[prefix.len()..]),
        requested.strip_prefix(prefix).and_then(after_port),
    ) else {
        return false;
    };
    reg_tail == req_tail
}

/// The registered URI that `requested` matches, if any.
pub fn find_match<'a, I>(registered: I, requested: &str) -> Option<&'a str>
where
    I: IntoIterator<Item = &'a str>,
{
    registered.into_iter().find(|r| matches(r, requested))
}

/// Splits `host[:port]…` into the authority and what follows it (path, query).
fn split_authority(rest: &str) -> (&str, &str) {
    let end = rest.find(['/', '?']).unwrap_or(rest.len());
    rest.split_at(end)
}

/// The host part of an authority without userinfo: `[::1]:80` → `[::1]`, `a.example:443` → `a.example`.
fn host_of(authority: &str) -> &str {
    if authority.starts_with('[') {
        return authority.find(']').map_or(authority, |i| &authority[..=i]);
    }
    authority.split(':').next().unwrap_or(authority)
}

fn scheme_is_lowercase(uri: &str, scheme: &str) -> bool {
    uri.as_bytes()[..scheme.len()].iter().all(|b| !b.is_ascii_uppercase())
}

/// After a loopback host: an optional `:port` (1–65535, no sign or leading zero), then the rest,
/// which must start the path or query (or be empty). None if the text is not of that shape.
fn after_port(text: &str) -> Option<&str> {
    let Some(port_and_rest) = text.strip_prefix(':') else {
        return starts_path_or_query(text).then_some(text);
    };
    let digits_end = port_and_rest
        .find(|c: char| !c.is_ascii_digit())
        .unwrap_or(port_and_rest.len());
    let (digits, rest) = port_and_rest.split_at(digits_end);
    let port: u16 = digits.parse().ok()?;
    let canonical = port != 0 && port.to_string() == digits;
    (canonical && starts_path_or_query(rest)).then_some(rest)
}

fn starts_path_or_query(text: &str) -> bool {
    text.is_empty() || text.starts_with('/') || text.starts_with('?')
}

/// `.` and `..` path segments, plain or percent-encoded, which a browser or server may resolve.
fn has_dot_segment(path_and_query: &str) -> bool {
    let path = path_and_query.split('?').next().unwrap_or("");
    path.split('/').any(|segment| {
        let decoded = segment.to_ascii_lowercase().replace("%2e", ".");
        decoded == "." || decoded == ".."
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use InvalidRedirectUri as E;

    #[test]
    fn https_and_loopback_http_register() {
        for uri in [
            "https://app.example.com/callback",
            "https://app.example.com/callback?tenant=1",
            "https://app.example.com:8443/cb",
            "https://app.example.com",
            "https://203.0.113.5/cb",
            "http://127.0.0.1/cb",
            "http://127.0.0.1:8080/cb",
            "http://[::1]:4000/cb",
            "http://localhost:3000/auth/callback",
            "http://LOCALHOST/cb",
        ] {
            assert_eq!(validate_registration(uri), Ok(()), "{uri}");
        }
    }

    #[test]
    fn registration_refusals_are_typed() {
        let cases = [
            ("", E::Empty),
            ("/callback", E::NotAbsolute),
            ("app.example.com/cb", E::NotAbsolute),
            ("https:/app.example.com/cb", E::NotAbsolute),
            ("https:app.example.com/cb", E::NotAbsolute),
            ("https://app.example.com/cb#frag", E::Fragment),
            ("https://app.example.com/cb#", E::Fragment),
            ("https://*.example.com/cb", E::Wildcard),
            ("https://app.example.com/*", E::Wildcard),
            ("https://user@app.example.com/cb", E::UserInfo),
            ("https://user:pw@app.example.com/cb", E::UserInfo),
            ("https://@app.example.com/cb", E::UserInfo),
            ("http://app.example.com/cb", E::InsecureHttp),
            ("http://127.0.0.2/cb", E::InsecureHttp),
            ("http://0x7f.1/cb", E::InsecureHttp),
            ("http://2130706433/cb", E::InsecureHttp),
            ("http://localhost.evil.example/cb", E::InsecureHttp),
            ("http://127.0.0.1.nip.io/cb", E::InsecureHttp),
            ("javascript:alert(1)", E::UnsupportedScheme),
            ("data:text/html,<script>alert(1)</script>", E::UnsupportedScheme),
            ("file:///etc/passwd", E::UnsupportedScheme),
            ("com.example.app:/oauth2redirect", E::UnsupportedScheme),
            ("ftp://app.example.com/cb", E::UnsupportedScheme),
            ("HTTPS://app.example.com/cb", E::UnsupportedScheme),
            ("https://app.example.com/a/../b", E::DotSegment),
            ("https://app.example.com/a/./b", E::DotSegment),
            ("https://app.example.com/a/%2E%2e/b", E::DotSegment),
            ("https://app.example.com/a/..", E::DotSegment),
            ("https://app.example.com/c b", E::BadCharacter),
            ("https://app.example.com/cb\t", E::BadCharacter),
            ("https://app.example.com\\@evil.example/cb", E::BadCharacter),
            ("https://bücher.example/cb", E::BadCharacter),
        ];
        for (uri, expected) in cases {
            assert_eq!(validate_registration(uri), Err(expected), "{uri}");
        }
        assert_eq!(
            validate_registration(&format!("https://a.example/{}", "x".repeat(MAX_LEN))),
            Err(E::TooLong)
        );
    }

    const REG: &str = "https://app.example.com/callback";

    #[test]
    fn exact_string_matches() {
        assert!(matches(REG, REG));
        assert_eq!(find_match(["https://other.example/cb", REG], REG), Some(REG));
        assert_eq!(find_match(["https://other.example/cb"], REG), None);
        let with_query = "https://app.example.com/callback?tenant=1";
        assert!(matches(with_query, with_query));
    }

    #[test]
    fn every_near_miss_is_refused() {
        for requested in [
            "https://APP.EXAMPLE.COM/callback",              // host case
            "https://app.example.com/Callback",              // path case
            "HTTPS://app.example.com/callback",              // scheme case
            "https://app.example.com/callback/",             // trailing slash
            "https://app.example.com/callback?x=1",          // extra query
            "https://app.example.com/callback?",             // empty query
            "https://app.example.com/callback#frag",         // fragment
            "https://app.example.com/callback/../callback",  // path traversal
            "https://app.example.com/x/../callback",         // traversal resolving to the same path
            "https://app.example.com/callback%2F..%2Fevil",  // encoded slashes
            "https://app.example.com%2Fcallback",            // encoded slash in authority
            "https://app.example.com/%63allback",            // encoded letter
            "https://evil@app.example.com/callback",         // userinfo
            "https://app.example.com@evil.example/callback", // userinfo pointing elsewhere
            "https://evil.app.example.com/callback",         // subdomain
            "https://app.example.com.evil.example/callback", // suffix domain
            "http://app.example.com/callback",               // scheme downgrade
            "https://app.example.com:443/callback",          // explicit default port
            "https://app.example.com:8443/callback",         // other port
            " https://app.example.com/callback",             // leading space
            "https://app.example.com/callback ",             // trailing space
            "",
        ] {
            assert!(!matches(REG, requested), "{requested}");
        }
    }

    #[test]
    fn loopback_ip_port_may_change() {
        for (registered, requested) in [
            ("http://127.0.0.1/cb", "http://127.0.0.1:51234/cb"),
            ("http://127.0.0.1:8080/cb", "http://127.0.0.1:51234/cb"),
            ("http://127.0.0.1:8080/cb", "http://127.0.0.1/cb"),
            ("http://127.0.0.1:8080/cb?x=1", "http://127.0.0.1:9/cb?x=1"),
            ("http://127.0.0.1:8080", "http://127.0.0.1:65535"),
            ("http://[::1]:8080/cb", "http://[::1]:1234/cb"),
            ("http://[::1]/cb", "http://[::1]:1234/cb"),
        ] {
            assert!(matches(registered, requested), "{registered} vs {requested}");
        }
    }

    #[test]
    fn loopback_allows_nothing_but_the_port() {
        let reg = "http://127.0.0.1:8080/cb";
        for requested in [
            "http://127.0.0.1:8080/cb/",             // trailing slash
            "http://127.0.0.1:8080/CB",              // case
            "http://127.0.0.1:8080/cb?x=1",          // extra query
            "http://127.0.0.1:8080/cb#f",            // fragment
            "http://127.0.0.1:8080/x/../cb",         // traversal
            "http://127.0.0.1:8080/cb%2F..",         // encoded slash
            "http://127.0.0.1.evil.example:8080/cb", // host suffix
            "http://127.0.0.1@evil.example/cb",      // userinfo
            "http://127.0.0.1:8080@evil.example/cb", // userinfo with port-like text
            "http://127.0.0.1:0/cb",                 // port 0
            "http://127.0.0.1:65536/cb",             // out of range
            "http://127.0.0.1:08080/cb",             // leading zero
            "http://127.0.0.1:+80/cb",               // sign
            "http://127.0.0.1:/cb",                  // empty port
            "http://127.0.0.1:80a/cb",               // junk in port
            "https://127.0.0.1:8080/cb",             // scheme change
            "http://localhost:8080/cb",              // localhost is not 127.0.0.1
            "http://127.1:8080/cb",                  // short IPv4 form
            "http://[::1]:8080/cb",                  // other loopback family
            "http://[0:0:0:0:0:0:0:1]:8080/cb",      // other spelling of ::1
        ] {
            assert!(!matches(reg, requested), "{requested}");
        }
    }

    #[test]
    fn localhost_and_https_ports_are_fixed() {
        assert!(matches("http://localhost:3000/cb", "http://localhost:3000/cb"));
        assert!(!matches("http://localhost:3000/cb", "http://localhost:3001/cb"));
        assert!(!matches("http://localhost:3000/cb", "http://127.0.0.1:3000/cb"));
        assert!(!matches("https://127.0.0.1:8443/cb", "https://127.0.0.1:9443/cb"));
        assert!(!matches("http://[::1]:8080/cb", "http://127.0.0.1:8080/cb"));
    }
}
