//! Opaque pagination cursors and page sizes.

use crate::CoreError;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine;

pub const DEFAULT_LIMIT: i64 = 50;
pub const MAX_LIMIT: i64 = 500;

/// A position in a listing: the key of the last item of the previous page.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Cursor(pub i64);

impl Cursor {
    pub fn encode(self) -> String {
        URL_SAFE_NO_PAD.encode(format!("v1:{}", self.0))
    }

    pub fn decode(text: &str) -> Result<Self, CoreError> {
        let invalid = || CoreError::bad_field("/cursor", "is not a cursor this server issued");
        let bytes = URL_SAFE_NO_PAD.decode(text).map_err(|_| invalid())?;
        let text = String::from_utf8(bytes).map_err(|_| invalid())?;
        text.strip_prefix("v1:")
            .and_then(|n| n.parse().ok())
            .map(Cursor)
            .ok_or_else(invalid)
    }
}

/// `?limit=&cursor=` as checked values.
#[derive(Debug, Clone, Copy)]
pub struct PageRequest {
    pub limit: i64,
    pub cursor: Option<Cursor>,
}

impl PageRequest {
    pub fn parse(limit: Option<i64>, cursor: Option<&str>) -> Result<Self, CoreError> {
        let limit = limit.unwrap_or(DEFAULT_LIMIT);
        if !(1..=MAX_LIMIT).contains(&limit) {
            return Err(CoreError::bad_field(
                "/limit",
                format!("must be between 1 and {MAX_LIMIT}"),
            ));
        }
        let cursor = cursor
            .filter(|c| !c.is_empty())
            .map(Cursor::decode)
            .transpose()?;
        Ok(Self { limit, cursor })
    }

    /// Fetch one more than the limit to know whether a next page exists.
    pub fn fetch_limit(&self) -> i64 {
        self.limit + 1
    }

    /// Cuts the extra item off and returns the cursor of the next page, if any.
    pub fn finish<T>(
        &self,
        mut items: Vec<T>,
        key: impl Fn(&T) -> i64,
    ) -> (Vec<T>, Option<String>) {
        let limit = usize::try_from(self.limit).unwrap_or(usize::MAX);
        if items.len() > limit {
            items.truncate(limit);
            let next = items.last().map(|item| Cursor(key(item)).encode());
            (items, next)
        } else {
            (items, None)
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cursors_round_trip_and_reject_forgeries() {
        assert_eq!(Cursor::decode(&Cursor(42).encode()).ok(), Some(Cursor(42)));
        assert!(Cursor::decode("42").is_err());
        assert!(PageRequest::parse(Some(0), None).is_err());
        assert!(PageRequest::parse(Some(501), None).is_err());
    }
}
