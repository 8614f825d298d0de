//! ClickHouse server exception codes: every code the sink reacts to is named here, once,
//! and grouped by what it means for a batch. The classifier ([`crate::classify`]) and the
//! schema re-check ([`crate::schema`]) both read these groups.
//!
//! The numbers and names are the server's, from `src/Common/ErrorCodes.cpp` in the
//! ClickHouse repository (`dbms/src/Common/ErrorCodes.cpp` in 18.x):
//! <https://github.com/ClickHouse/ClickHouse/blob/master/src/Common/ErrorCodes.cpp>.
//! Codes are never renumbered; a few used here are newer than 18.16 and say so.

/// Declares each code as a constant named as the server names it.
macro_rules! codes {
    ($($name:ident = $value:literal,)*) => {
        $(
            #[doc = concat!("`", stringify!($name), "` (", stringify!($value), ").")]
            pub(crate) const $name: u32 = $value;
        )*
        /// The name of a code listed here.
        #[cfg(test)]
        #[must_use]
        pub(crate) fn name(code: u32) -> Option<&'static str> {
            match code {
                $($value => Some(stringify!($name)),)*
                _ => None,
            }
        }
    };
}

codes! {
    UNSUPPORTED_METHOD = 1,
    UNSUPPORTED_PARAMETER = 2,
    CANNOT_PARSE_TEXT = 6,
    THERE_IS_NO_COLUMN = 8,
    NOT_FOUND_COLUMN_IN_BLOCK = 10,
    NO_SUCH_COLUMN_IN_TABLE = 16,
    SIZE_OF_FIXED_STRING_DOESNT_MATCH = 19,
    NUMBER_OF_COLUMNS_DOESNT_MATCH = 20,
    CANNOT_READ_FROM_ISTREAM = 23,
    CANNOT_WRITE_TO_OSTREAM = 24,
    CANNOT_PARSE_ESCAPE_SEQUENCE = 25,
    CANNOT_PARSE_QUOTED_STRING = 26,
    CANNOT_PARSE_INPUT_ASSERTION_FAILED = 27,
    ATTEMPT_TO_READ_AFTER_EOF = 32,
    CANNOT_READ_ALL_DATA = 33,
    BAD_ARGUMENTS = 36,
    CANNOT_PARSE_DATE = 38,
    TOO_LARGE_SIZE_COMPRESSED = 39,
    CHECKSUM_DOESNT_MATCH = 40,
    CANNOT_PARSE_DATETIME = 41,
    ILLEGAL_TYPE_OF_ARGUMENT = 43,
    ILLEGAL_COLUMN = 44,
    UNKNOWN_IDENTIFIER = 47,
    NOT_IMPLEMENTED = 48,
    LOGICAL_ERROR = 49,
    UNKNOWN_TYPE = 50,
    TYPE_MISMATCH = 53,
    UNKNOWN_TABLE = 60,
    SYNTAX_ERROR = 62,
    ARGUMENT_OUT_OF_BOUND = 69,
    CANNOT_CONVERT_TYPE = 70,
    CANNOT_PARSE_NUMBER = 72,
    UNKNOWN_FORMAT = 73,
    INCORRECT_QUERY = 80,
    UNKNOWN_DATABASE = 81,
    UNKNOWN_SETTING = 115,
    INCORRECT_DATA = 117,
    TOO_LARGE_ARRAY_SIZE = 128,
    CANNOT_READ_ARRAY_FROM_TEXT = 130,
    TOO_LARGE_STRING_SIZE = 131,
    TIMEOUT_EXCEEDED = 159,
    TOO_SLOW = 160,
    READONLY = 164,
    CANNOT_ALLOCATE_MEMORY = 173,
    SIZES_OF_ARRAYS_DOESNT_MATCH = 190,
    UNKNOWN_USER = 192,
    WRONG_PASSWORD = 193,
    REQUIRED_PASSWORD = 194,
    IP_ADDRESS_NOT_ALLOWED = 195,
    TOO_MANY_SIMULTANEOUS_QUERIES = 202,
    NO_FREE_CONNECTION = 203,
    SOCKET_TIMEOUT = 209,
    NETWORK_ERROR = 210,
    NO_ZOOKEEPER = 225,
    ABORTED = 236,
    MEMORY_LIMIT_EXCEEDED = 241,
    TABLE_IS_READ_ONLY = 242,
    TOO_MANY_PARTS = 252,
    CANNOT_DECOMPRESS = 271,
    TOO_FEW_LIVE_REPLICAS = 285,
    UNSATISFIED_QUORUM_FOR_PREVIOUS_WRITE = 286,
    DATABASE_ACCESS_DENIED = 291,
    UNKNOWN_STATUS_OF_INSERT = 319,
    VALUE_IS_OUT_OF_RANGE_OF_DATA_TYPE = 321,
    CANNOT_INSERT_NULL_IN_ORDINARY_COLUMN = 349,
    RECEIVED_ERROR_TOO_MANY_REQUESTS = 364,
    BAD_CAST = 368,
    CANNOT_PARSE_UUID = 376,
    QUERY_WAS_CANCELLED = 394,
    FUNCTION_THROW_IF_VALUE_IS_NON_ZERO = 395,
    DECIMAL_OVERFLOW = 407,
    SYSTEM_ERROR = 425,
    UNKNOWN_CODEC = 432,
    ILLEGAL_CODEC_PARAMETER = 433,
    CANNOT_SCHEDULE_TASK = 439,
    // Newer than 18.16 from here on.
    CANNOT_PARSE_DOMAIN_VALUE_FROM_STRING = 441,
    CANNOT_PARSE_BOOL = 467,
    VIOLATED_CONSTRAINT = 469,
    ACCESS_DENIED = 497,
    AUTHENTICATION_FAILED = 516,
    CANNOT_PARSE_IPV4 = 675,
    CANNOT_PARSE_IPV6 = 676,
    UNKNOWN_ELEMENT_OF_ENUM = 691,
    KEEPER_EXCEPTION = 999,
    POCO_EXCEPTION = 1000,
}

/// Configuration and access: retrying cannot help until someone changes the setup.
pub(crate) const CONFIG: &[u32] = &[
    UNKNOWN_TABLE,
    UNKNOWN_DATABASE,
    UNKNOWN_SETTING,
    READONLY,
    UNKNOWN_USER,
    WRONG_PASSWORD,
    REQUIRED_PASSWORD,
    IP_ADDRESS_NOT_ALLOWED,
    DATABASE_ACCESS_DENIED,
    ACCESS_DENIED,
    AUTHENTICATION_FAILED,
];

/// The rows themselves: a value the server cannot parse or store. The same bytes fail
/// again, and a smaller part of the batch without the bad row would succeed, so these
/// errors are [`caused_by_data`](batch_core::SinkError::caused_by_data). Parse errors
/// name the row (`(at row N)`).
pub(crate) const DATA: &[u32] = &[
    CANNOT_PARSE_TEXT,
    SIZE_OF_FIXED_STRING_DOESNT_MATCH,
    CANNOT_PARSE_ESCAPE_SEQUENCE,
    CANNOT_PARSE_QUOTED_STRING,
    CANNOT_PARSE_INPUT_ASSERTION_FAILED,
    ATTEMPT_TO_READ_AFTER_EOF,
    CANNOT_READ_ALL_DATA,
    CANNOT_PARSE_DATE,
    CANNOT_PARSE_DATETIME,
    TYPE_MISMATCH,
    ARGUMENT_OUT_OF_BOUND,
    CANNOT_CONVERT_TYPE,
    CANNOT_PARSE_NUMBER,
    INCORRECT_DATA,
    TOO_LARGE_ARRAY_SIZE,
    CANNOT_READ_ARRAY_FROM_TEXT,
    TOO_LARGE_STRING_SIZE,
    SIZES_OF_ARRAYS_DOESNT_MATCH,
    VALUE_IS_OUT_OF_RANGE_OF_DATA_TYPE,
    CANNOT_INSERT_NULL_IN_ORDINARY_COLUMN,
    CANNOT_PARSE_UUID,
    FUNCTION_THROW_IF_VALUE_IS_NON_ZERO,
    DECIMAL_OVERFLOW,
    CANNOT_PARSE_DOMAIN_VALUE_FROM_STRING,
    CANNOT_PARSE_BOOL,
    VIOLATED_CONSTRAINT,
    CANNOT_PARSE_IPV4,
    CANNOT_PARSE_IPV6,
    UNKNOWN_ELEMENT_OF_ENUM,
];

/// The query or the request as a whole: the same request fails again, whatever rows it
/// holds.
pub(crate) const REQUEST: &[u32] = &[
    UNSUPPORTED_METHOD,
    UNSUPPORTED_PARAMETER,
    THERE_IS_NO_COLUMN,
    NOT_FOUND_COLUMN_IN_BLOCK,
    NO_SUCH_COLUMN_IN_TABLE,
    NUMBER_OF_COLUMNS_DOESNT_MATCH,
    BAD_ARGUMENTS,
    TOO_LARGE_SIZE_COMPRESSED,
    CHECKSUM_DOESNT_MATCH,
    ILLEGAL_TYPE_OF_ARGUMENT,
    ILLEGAL_COLUMN,
    UNKNOWN_IDENTIFIER,
    NOT_IMPLEMENTED,
    LOGICAL_ERROR,
    UNKNOWN_TYPE,
    SYNTAX_ERROR,
    UNKNOWN_FORMAT,
    INCORRECT_QUERY,
    CANNOT_DECOMPRESS,
    UNKNOWN_CODEC,
    ILLEGAL_CODEC_PARAMETER,
    // A Native block's column of another type than the table's (18.16).
    BAD_CAST,
];

/// Passing trouble: overload, timeouts, network, replication. A code in no group is
/// retried too.
pub(crate) const TRANSIENT: &[u32] = &[
    CANNOT_READ_FROM_ISTREAM,
    CANNOT_WRITE_TO_OSTREAM,
    TIMEOUT_EXCEEDED,
    TOO_SLOW,
    CANNOT_ALLOCATE_MEMORY,
    TOO_MANY_SIMULTANEOUS_QUERIES,
    NO_FREE_CONNECTION,
    SOCKET_TIMEOUT,
    NETWORK_ERROR,
    NO_ZOOKEEPER,
    ABORTED,
    MEMORY_LIMIT_EXCEEDED,
    TABLE_IS_READ_ONLY,
    TOO_MANY_PARTS,
    TOO_FEW_LIVE_REPLICAS,
    UNSATISFIED_QUORUM_FOR_PREVIOUS_WRITE,
    UNKNOWN_STATUS_OF_INSERT,
    RECEIVED_ERROR_TOO_MANY_REQUESTS,
    QUERY_WAS_CANCELLED,
    SYSTEM_ERROR,
    CANNOT_SCHEDULE_TASK,
    KEEPER_EXCEPTION,
    POCO_EXCEPTION,
];

/// Errors of an insert that may mean the table changed under the sink (a column
/// dropped, renamed or retyped, the table dropped): the sink reads the table again
/// before it believes the rows are at fault.
pub(crate) const MAYBE_SCHEMA_CHANGE: &[u32] = &[
    THERE_IS_NO_COLUMN,
    NOT_FOUND_COLUMN_IN_BLOCK,
    NO_SUCH_COLUMN_IN_TABLE,
    NUMBER_OF_COLUMNS_DOESNT_MATCH,
    CANNOT_PARSE_INPUT_ASSERTION_FAILED,
    ATTEMPT_TO_READ_AFTER_EOF,
    CANNOT_READ_ALL_DATA,
    ILLEGAL_COLUMN,
    UNKNOWN_IDENTIFIER,
    TYPE_MISMATCH,
    UNKNOWN_TABLE,
    CANNOT_CONVERT_TYPE,
    BAD_CAST,
];

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_groups_do_not_overlap_and_every_code_is_named() {
        let groups = [CONFIG, DATA, REQUEST, TRANSIENT];
        for (i, a) in groups.iter().enumerate() {
            for b in &groups[i + 1..] {
                for code in *a {
                    assert!(!b.contains(code), "{code} is in two groups");
                }
            }
        }
        for code in groups.iter().copied().flatten().chain(MAYBE_SCHEMA_CHANGE) {
            assert!(name(*code).is_some(), "{code} has no name");
        }
        assert_eq!(name(376), Some("CANNOT_PARSE_UUID"));
        assert_eq!(name(691), Some("UNKNOWN_ELEMENT_OF_ENUM"));
        assert_eq!(name(4242), None);
    }
}
