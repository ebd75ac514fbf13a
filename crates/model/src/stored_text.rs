//! Vocabulary enums are stored as their names in a text column on both stores.

/// `sqlx` reads and writes `$type` as its `as_str()` / `parse()` name.
#[macro_export]
#[doc(hidden)]
macro_rules! stored_as_text {
    ($type:ty) => {
        #[cfg(feature = "sqlx")]
        const _: () = {
            use sqlx::encode::IsNull;
            use sqlx::error::BoxDynError;
            use sqlx::{Database, Decode, Encode, Type};

            impl<DB: Database> Type<DB> for $type
            where
                String: Type<DB>,
            {
                fn type_info() -> DB::TypeInfo {
                    <String as Type<DB>>::type_info()
                }
                fn compatible(ty: &DB::TypeInfo) -> bool {
                    <String as Type<DB>>::compatible(ty)
                }
            }

            impl<'q, DB: Database> Encode<'q, DB> for $type
            where
                String: Encode<'q, DB>,
            {
                fn encode_by_ref(
                    &self,
                    buf: &mut <DB as Database>::ArgumentBuffer<'q>,
                ) -> Result<IsNull, BoxDynError> {
                    <String as Encode<'q, DB>>::encode_by_ref(&self.as_str().to_owned(), buf)
                }
            }

            impl<'r, DB: Database> Decode<'r, DB> for $type
            where
                &'r str: Decode<'r, DB>,
            {
                fn decode(value: <DB as Database>::ValueRef<'r>) -> Result<Self, BoxDynError> {
                    let text = <&'r str as Decode<'r, DB>>::decode(value)?;
                    Ok(<$type>::parse(text)?)
                }
            }
        };
    };
}
