//! What the encoder knows about a column: its type, resolved from the catalog.

/// The OIDs of the built-in types whose binary format batchrow writes.
///
/// These are fixed in every PostgreSQL release (`src/include/catalog/pg_type.dat`).
pub mod oid {
    /// `bool`.
    pub const BOOL: u32 = 16;
    /// `bytea`.
    pub const BYTEA: u32 = 17;
    /// `name` (an identifier of at most 63 bytes).
    pub const NAME: u32 = 19;
    /// `int8` / `bigint`.
    pub const INT8: u32 = 20;
    /// `int2` / `smallint`.
    pub const INT2: u32 = 21;
    /// `int4` / `integer`.
    pub const INT4: u32 = 23;
    /// `text`.
    pub const TEXT: u32 = 25;
    /// `json`.
    pub const JSON: u32 = 114;
    /// `cidr`.
    pub const CIDR: u32 = 650;
    /// `float4` / `real`.
    pub const FLOAT4: u32 = 700;
    /// `float8` / `double precision`.
    pub const FLOAT8: u32 = 701;
    /// `inet`.
    pub const INET: u32 = 869;
    /// `bpchar` / `character(n)`.
    pub const BPCHAR: u32 = 1042;
    /// `varchar` / `character varying(n)`.
    pub const VARCHAR: u32 = 1043;
    /// `date`.
    pub const DATE: u32 = 1082;
    /// `timestamp` (without time zone).
    pub const TIMESTAMP: u32 = 1114;
    /// `timestamptz` (with time zone).
    pub const TIMESTAMPTZ: u32 = 1184;
    /// `interval`.
    pub const INTERVAL: u32 = 1186;
    /// `numeric`.
    pub const NUMERIC: u32 = 1700;
    /// `uuid`.
    pub const UUID: u32 = 2950;
    /// `jsonb`.
    pub const JSONB: u32 = 3802;
}

/// A column type as the sink resolved it from the catalog before the first row.
///
/// This is [`PgBinary`](crate::PgBinary)'s `Format::Column`: every encoder receives the
/// `PgType` of its column, and decides from it how to write the value (a `String` is
/// written with a version byte into `jsonb`, and as plain text into `text`; an array
/// header names the element type's OID).
///
/// Domains are looked through: a column of `DOMAIN positive_int AS int4` has
/// [`oid`](PgType::oid) = the domain's OID and [`base_oid`](PgType::base_oid) = `int4`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PgType {
    pub(crate) oid: u32,
    pub(crate) base: u32,
    pub(crate) typmod: i32,
    pub(crate) name: String,
    pub(crate) kind: PgTypeKind,
}

/// The kind of a [`PgType`], after looking through domains.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum PgTypeKind {
    /// A base type with its own binary format, such as `int4` or `text`.
    Base,
    /// The `citext` extension type, written as text.
    Citext,
    /// An enum type, with its labels in the server's sort order.
    Enum(Vec<String>),
    /// A one-dimensional array (PostgreSQL does not distinguish dimensions in the type)
    /// of the element type.
    Array(Box<PgType>),
    /// A type no Rust type is written to: composite, range, pseudo-types and base types
    /// batchrow has no encoder for.
    Other,
}

impl PgType {
    /// A built-in base type, for example `PgType::builtin(oid::INT4, "integer")`.
    ///
    /// The sink builds `PgType`s from the catalog; this constructor is for encoding
    /// without a server, for example in tests of a hand-written
    /// [`Encode<PgBinary>`](batch_core::Encode) impl.
    #[must_use]
    pub fn builtin(oid: u32, name: impl Into<String>) -> Self {
        PgType {
            oid,
            base: oid,
            typmod: -1,
            name: name.into(),
            kind: PgTypeKind::Base,
        }
    }

    /// An array type of `element`, with the array type's own OID.
    #[must_use]
    pub fn array_of(oid: u32, element: PgType) -> Self {
        PgType {
            oid,
            base: oid,
            typmod: element.typmod,
            name: format!("{}[]", element.name),
            kind: PgTypeKind::Array(Box::new(element)),
        }
    }

    /// An enum type with the given labels.
    #[must_use]
    pub fn enumeration(oid: u32, name: impl Into<String>, labels: Vec<String>) -> Self {
        PgType {
            oid,
            base: oid,
            typmod: -1,
            name: name.into(),
            kind: PgTypeKind::Enum(labels),
        }
    }

    /// The same type with a type modifier, such as `varchar(10)` (typmod 14) or
    /// `numeric(10, 2)` (typmod `(10 << 16 | 2) + 4`).
    #[must_use]
    pub fn with_typmod(mut self, typmod: i32) -> Self {
        self.typmod = typmod;
        if let PgTypeKind::Array(elem) = &mut self.kind {
            elem.typmod = typmod;
        }
        self
    }

    /// The type's OID (a domain's own OID for a domain). Array headers name it.
    #[must_use]
    pub fn oid(&self) -> u32 {
        self.oid
    }

    /// The OID whose binary format is written: the base type of a domain, or
    /// [`oid`](PgType::oid) itself.
    #[must_use]
    pub fn base_oid(&self) -> u32 {
        self.base
    }

    /// The type modifier (`atttypmod`), or -1 when there is none.
    #[must_use]
    pub fn typmod(&self) -> i32 {
        self.typmod
    }

    /// The type as PostgreSQL's `format_type` prints it, such as
    /// `character varying(10)`, for messages.
    #[must_use]
    pub fn name(&self) -> &str {
        &self.name
    }

    /// The kind of the type.
    #[must_use]
    pub fn kind(&self) -> &PgTypeKind {
        &self.kind
    }

    /// The element type, for an array type.
    #[must_use]
    pub fn element(&self) -> Option<&PgType> {
        match &self.kind {
            PgTypeKind::Array(elem) => Some(elem),
            _ => None,
        }
    }

    /// The labels, for an enum type.
    #[must_use]
    pub fn enum_labels(&self) -> Option<&[String]> {
        match &self.kind {
            PgTypeKind::Enum(labels) => Some(labels),
            _ => None,
        }
    }

    /// Whether text is written to this type as plain UTF-8: `text`, `varchar`, `bpchar`,
    /// `name` and `citext`.
    #[must_use]
    pub fn is_text(&self) -> bool {
        matches!(self.kind, PgTypeKind::Citext)
            || (matches!(self.kind, PgTypeKind::Base)
                && matches!(
                    self.base,
                    oid::TEXT | oid::VARCHAR | oid::BPCHAR | oid::NAME
                ))
    }

    /// The length limit in characters of `varchar(n)` / `character(n)`, if any.
    pub(crate) fn char_limit(&self) -> Option<usize> {
        if matches!(self.base, oid::VARCHAR | oid::BPCHAR) && self.typmod >= 4 {
            usize::try_from(self.typmod - 4).ok()
        } else {
            None
        }
    }

    /// `(precision, scale)` of `numeric(p, s)`, if the column has a modifier.
    #[cfg_attr(not(feature = "rust_decimal"), allow(dead_code))]
    pub(crate) fn numeric_precision_scale(&self) -> Option<(i32, i32)> {
        if self.base != oid::NUMERIC || self.typmod < 4 {
            return None;
        }
        let t = self.typmod - 4;
        let precision = (t >> 16) & 0xffff;
        // The scale is an 11-bit signed number since PostgreSQL 15 (it may be negative).
        let scale = ((t & 0x7ff) ^ 1024) - 1024;
        Some((precision, scale))
    }
}
