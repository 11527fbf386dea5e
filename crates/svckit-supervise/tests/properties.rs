//! Property tests of the control protocol's decoder: no line a client can send makes it panic,
//! and every request survives encoding and decoding whole.
#![cfg(unix)]

use proptest::prelude::*;
use svckit_supervise::protocol::{Op, Request, VERSION};

fn op() -> impl Strategy<Value = Op> {
    let name = "\\PC{0,12}";
    prop_oneof![
        (name, any::<bool>()).prop_map(|(name, wait)| Op::Start { name, wait }),
        name.prop_map(|name| Op::Stop { name }),
        name.prop_map(|name| Op::Restart { name }),
        name.prop_map(|name| Op::Pause { name }),
        name.prop_map(|name| Op::Continue { name }),
        name.prop_map(|name| Op::Reload { name }),
        (prop::option::of(name), any::<bool>())
            .prop_map(|(name, brief)| Op::Status { name, brief }),
        name.prop_map(|name| Op::Forget { name }),
        Just(Op::Shutdown),
    ]
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(1024))]

    #[test]
    fn any_line_is_decoded_without_a_panic(bytes in prop::collection::vec(any::<u8>(), 0..256)) {
        let _ = serde_json::from_slice::<Request>(&bytes);
    }

    #[test]
    fn json_shaped_lines_are_decoded_without_a_panic(
        text in "\\{\"version\":(1|0|-1|99999999999999999999),\"op\":\\{\"op\":\"[a-z-]{0,8}\"(,\"name\":(null|\"[^\"]{0,8}\"|7|\\[\\]))?(,\"wait\":(true|1))?\\}\\}"
    ) {
        let _ = serde_json::from_str::<Request>(&text);
    }

    #[test]
    fn requests_round_trip(op in op()) {
        let request = Request { version: VERSION, op };
        let line = serde_json::to_vec(&request).unwrap();
        prop_assert_eq!(serde_json::from_slice::<Request>(&line).unwrap(), request);
    }
}
