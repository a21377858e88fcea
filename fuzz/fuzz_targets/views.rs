//! Checked views: what a view accepts, prost decodes to the same message,
//! and the JSON writer accepts too.
#![no_main]
use bytes::Bytes;
use libfuzzer_sys::fuzz_target;
use mesos_codec::json::{message_type, protobuf_to_json};
use mesos_codec::v1::{executor, master, scheduler};
use mesos_codec::view::{Checked, HasView};
use prost::Message;

fn agree<T: HasView + Message + Default + PartialEq + std::fmt::Debug>(name: &str, bytes: &Bytes) {
    let Ok(checked) = Checked::<T>::decode(bytes.clone()) else { return };
    let prost = T::decode(bytes.clone()).expect("prost decodes what a view accepts");
    // Compared encoded: a NaN is not equal to itself.
    assert_eq!(
        checked.to_message().encode_to_vec(),
        prost.encode_to_vec(),
        "the view reads another message than prost"
    );
    assert!(
        protobuf_to_json(message_type(name).unwrap(), bytes).is_ok(),
        "the JSON writer refuses what a view accepts"
    );
}

fuzz_target!(|data: &[u8]| {
    let Some((&selector, pb)) = data.split_first() else { return };
    let bytes = Bytes::copy_from_slice(pb);
    match selector % 6 {
        0 => agree::<scheduler::Call>("scheduler.Call", &bytes),
        1 => agree::<scheduler::Event>("scheduler.Event", &bytes),
        2 => agree::<master::Call>("master.Call", &bytes),
        3 => agree::<master::Response>("master.Response", &bytes),
        4 => agree::<master::Event>("master.Event", &bytes),
        _ => agree::<executor::Call>("executor.Call", &bytes),
    }
});
