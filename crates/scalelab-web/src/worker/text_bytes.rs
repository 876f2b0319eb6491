//! `#[serde(with = "text_bytes")]` for the large texts users paste (a loss curve, a vocabulary of
//! logits): they cross to the worker as UTF-8 bytes, which `serde-wasm-bindgen` turns into a
//! `Uint8Array` (one copy, and a plain buffer for `postMessage` to clone), instead of a JS string
//! (a UTF-8 → UTF-16 decode on the page, then a clone of twice the bytes).

use serde::{de::Error, Deserialize, Deserializer, Serializer};

/// Writes `text` (a `String` or a shared `Arc<str>`) as bytes.
pub fn serialize<S: Serializer, T: AsRef<str>>(text: &T, s: S) -> Result<S::Ok, S::Error> {
    s.serialize_bytes(text.as_ref().as_bytes())
}

/// Reads bytes (or, from a serialiser without bytes, a string) as UTF-8 text.
pub fn deserialize<'de, D: Deserializer<'de>, T: From<String>>(d: D) -> Result<T, D::Error> {
    let bytes = serde_bytes::ByteBuf::deserialize(d)?;
    String::from_utf8(bytes.into_vec())
        .map(T::from)
        .map_err(D::Error::custom)
}

#[cfg(test)]
mod tests {
    #[derive(serde::Serialize, serde::Deserialize, PartialEq, Debug)]
    struct Holder(#[serde(with = "super")] String);

    #[test]
    fn text_round_trips_as_bytes_and_bad_utf8_is_an_error() {
        let json = serde_json::to_string(&Holder("é,1\n".into())).unwrap();
        assert_eq!(json, "[195,169,44,49,10]");
        assert_eq!(
            serde_json::from_str::<Holder>(&json).unwrap(),
            Holder("é,1\n".into())
        );
        assert!(serde_json::from_str::<Holder>("[255,1]").is_err());
    }
}
