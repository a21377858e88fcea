//! Content negotiation by the Mesos master's and agent's rules.

use mesos_codec::negotiate::{
    BodyType, ContentType, MESSAGE_ACCEPT, MESSAGE_CONTENT_TYPE, NegotiationError, accepts, agent_request_body_type,
    agent_response_body_type, check_streaming_call, last_header_value, quality, request_content_type,
    response_content_type, response_content_type_by_quality,
};
use mesos_codec::v1::agent::call::Type as AgentCall;
use proptest::prelude::*;

use ContentType::{Json, Protobuf, RecordIo};

const NOT_ACCEPTABLE: &str = "Expecting 'Accept' to allow 'application/x-protobuf' or 'application/json'";
const UNSUPPORTED: &str = "Expecting 'Content-Type' of application/json or application/x-protobuf";

/// The master's answer to an `Accept` value: the type, or the status and body.
fn answer(accept: &str) -> Result<ContentType, (u16, String)> {
    response_content_type(Some(accept)).map_err(|err| (err.status(), err.to_string()))
}

fn refused(accept: &str) {
    assert_eq!(answer(accept), Err((406, NOT_ACCEPTABLE.to_owned())), "Accept: {accept:?}");
}

// ---- ContentType ----

#[test]
fn content_type_strings() {
    assert_eq!(Json.as_str(), "application/json");
    assert_eq!(Protobuf.as_str(), "application/x-protobuf");
    assert_eq!(RecordIo.as_str(), "application/recordio");
    for content_type in [Json, Protobuf, RecordIo] {
        assert_eq!(content_type.to_string(), content_type.as_str());
        assert_eq!(ContentType::from_media_type(content_type.as_str()), Some(content_type));
        assert_eq!(content_type.as_str().parse::<ContentType>(), Ok(content_type));
    }
    assert!(RecordIo.is_streaming());
    assert!(!Json.is_streaming() && !Protobuf.is_streaming());
    assert_eq!(MESSAGE_CONTENT_TYPE, "Message-Content-Type");
    assert_eq!(MESSAGE_ACCEPT, "Message-Accept");
}

#[test]
fn content_type_parsing_is_an_exact_compare() {
    for value in [
        "",
        "application/json; charset=utf-8",
        "application/json;charset=utf-8",
        "Application/JSON",
        "APPLICATION/X-PROTOBUF",
        " application/json",
        "application/json ",
        "application/protobuf",
        "application/*",
        "*/*",
        "text/plain",
        "json",
    ] {
        assert_eq!(ContentType::from_media_type(value), None, "{value:?}");
        let err = value.parse::<ContentType>().unwrap_err();
        assert_eq!(err.value(), value);
        assert!(err.to_string().starts_with("unknown media type"), "{err}");
    }
}

// ---- Content-Type of the request (master, executor API) ----

#[test]
fn missing_content_type_is_400() {
    let err = request_content_type(None).unwrap_err();
    assert_eq!(err, NegotiationError::MissingContentType);
    assert_eq!(err.status(), 400);
    assert_eq!(err.to_string(), "Expecting 'Content-Type' to be present");
}

#[test]
fn json_and_protobuf_request_bodies() {
    assert_eq!(request_content_type(Some("application/json")), Ok(Json));
    assert_eq!(request_content_type(Some("application/x-protobuf")), Ok(Protobuf));
}

#[test]
fn anything_else_is_415() {
    for value in [
        "application/json; charset=utf-8",
        "application/json;charset=utf-8",
        "application/x-protobuf; proto=mesos.v1.scheduler.Call",
        "Application/Json",
        "APPLICATION/JSON",
        " application/json",
        "application/json ",
        "application/json\t",
        "application/recordio",
        "application/protobuf",
        "application/*",
        "*/*",
        "text/plain",
        "",
        "   ",
        "garbage",
        "\u{0}\u{7f}\u{fffd}",
    ] {
        let err = request_content_type(Some(value)).unwrap_err();
        assert_eq!(err, NegotiationError::UnsupportedContentType, "{value:?}");
        assert_eq!(err.status(), 415);
        assert_eq!(err.to_string(), UNSUPPORTED);
    }
}

// ---- Accept (master, executor API) ----

#[test]
fn no_accept_header_means_json() {
    assert_eq!(response_content_type(None), Ok(Json));
    assert_eq!(response_content_type_by_quality(None), Ok(Json));
    assert!(accepts(None, Json) && accepts(None, Protobuf) && accepts(None, RecordIo));
    assert_eq!(quality(None, Protobuf), 1.0);
}

#[test]
fn exact_types() {
    assert_eq!(answer("application/json"), Ok(Json));
    assert_eq!(answer("application/x-protobuf"), Ok(Protobuf));
    assert_eq!(answer("application/x-protobuf, application/json"), Ok(Json));
    assert_eq!(answer("application/json, application/x-protobuf"), Ok(Json));
}

#[test]
fn wildcards() {
    assert_eq!(answer("*/*"), Ok(Json));
    assert_eq!(answer("application/*"), Ok(Json));
    assert_eq!(answer("text/html, */*"), Ok(Json));
    assert_eq!(answer("text/html, application/*;q=0.1"), Ok(Json));
    refused("text/*");
    refused("*/json");
    refused("*");
    refused("application");
}

#[test]
fn q_zero_means_not_acceptable() {
    assert_eq!(answer("application/x-protobuf;q=0, application/json"), Ok(Json));
    assert_eq!(answer("application/json;q=0, application/x-protobuf"), Ok(Protobuf));
    assert_eq!(answer("application/json;q=0, */*"), Ok(Protobuf));
    assert_eq!(answer("application/json;q=0.0, application/*"), Ok(Protobuf));
    assert_eq!(answer("application/json;q=0.000, application/*"), Ok(Protobuf));
    refused("application/json;q=0");
    refused("application/json;q=0, application/x-protobuf;q=0");
    refused("*/*;q=0");
    refused("application/*;q=0");
    refused("application/json;q=0, application/x-protobuf;q=0, */*");
}

#[test]
fn the_most_specific_range_decides() {
    // An exact type beats `application/*`, which beats `*/*`, wherever they stand.
    assert_eq!(answer("*/*;q=0, application/json"), Ok(Json));
    assert_eq!(answer("application/*;q=0, application/x-protobuf"), Ok(Protobuf));
    assert_eq!(answer("*/*;q=0, application/*"), Ok(Json));
    assert_eq!(answer("application/*;q=0, */*"), Err((406, NOT_ACCEPTABLE.to_owned())));
    assert_eq!(answer("application/json;q=0, */*;q=1"), Ok(Protobuf));
    // Among equally specific ranges the first one counts.
    refused("application/json;q=0, application/json");
    assert_eq!(answer("application/json, application/json;q=0"), Ok(Json));
}

#[test]
fn json_wins_whenever_acceptable_as_the_master_does() {
    // The master asks "JSON?" first and never compares q-values.
    assert_eq!(answer("*/*;q=0.5, application/x-protobuf"), Ok(Json));
    assert_eq!(answer("application/json;q=0.1, application/x-protobuf;q=1"), Ok(Json));
    assert_eq!(answer("application/*;q=0.001, application/x-protobuf"), Ok(Json));
}

#[test]
fn ranking_by_quality_is_available_but_not_the_master() {
    let by_q = |accept: &str| response_content_type_by_quality(Some(accept));
    assert_eq!(by_q("*/*;q=0.5, application/x-protobuf"), Ok(Protobuf));
    assert_eq!(by_q("application/json;q=0.1, application/x-protobuf;q=1"), Ok(Protobuf));
    assert_eq!(by_q("application/json;q=0.8, application/x-protobuf;q=0.5"), Ok(Json));
    // Ties prefer JSON.
    assert_eq!(by_q("application/x-protobuf;q=0.5, application/json;q=0.5"), Ok(Json));
    assert_eq!(by_q("*/*"), Ok(Json));
    assert_eq!(by_q("application/x-protobuf;q=0, application/json"), Ok(Json));
    assert_eq!(by_q("application/x-protobuf"), Ok(Protobuf));
    assert_eq!(by_q("text/html"), Err(NegotiationError::NotAcceptable));
    assert_eq!(by_q(""), Err(NegotiationError::NotAcceptable));
    assert_eq!(by_q("application/json;q=0, application/x-protobuf;q=0"), Err(NegotiationError::NotAcceptable));
}

#[test]
fn neither_acceptable_is_406() {
    let err = response_content_type(Some("text/html")).unwrap_err();
    assert_eq!(err, NegotiationError::NotAcceptable);
    assert_eq!(err.status(), 406);
    assert_eq!(err.to_string(), NOT_ACCEPTABLE);
    refused("text/html, text/plain;q=0.9");
    refused("application/xml");
    refused("application/recordio");
    refused("application/jsonx");
    refused("application/json-seq");
    refused("application/x-protobufs");
    refused("xapplication/json");
}

#[test]
fn empty_accept_header_admits_nothing() {
    // Present but empty: libprocess finds no range at all, so 406.
    for value in ["", " ", "\t", "\n", " \t\n ", ",", ",,,", ";", ";;", ", ;, ;"] {
        refused(value);
        assert_eq!(quality(Some(value), Json), 0.0);
    }
}

#[test]
fn garbage_is_406_and_never_a_panic() {
    for value in [
        "garbage",
        "application",
        "/",
        "//",
        "application/json/extra",
        "=",
        "q=1",
        ";q=1",
        "\u{0}",
        "\u{fffd}\u{fffd}",
        "αβγ/δ",
        "application/jsoñ",
        "\"application/json\"",
        "<application/json>",
    ] {
        refused(value);
    }
    let long = "x/y;q=0.5, ".repeat(10_000);
    refused(&long);
    assert_eq!(answer(&format!("{long}application/x-protobuf")), Ok(Protobuf));
}

#[test]
fn whitespace_is_removed_everywhere() {
    assert_eq!(answer(" application/x-protobuf ; q = 0 , application/json "), Ok(Json));
    assert_eq!(answer("application/x-protobuf\t;\tq=0,\napplication/json"), Ok(Json));
    // libprocess removes spaces inside the type too.
    assert_eq!(answer("application / x-protobuf"), Ok(Protobuf));
    assert_eq!(answer("application/json; q=0 . 5"), Ok(Json));
    assert_eq!(quality(Some("application/json; q=0 . 5"), Json), 0.5);
    // Only space, tab and line feed: a carriage return stays, and spoils the match.
    refused("application/json\r");
}

#[test]
fn types_compare_case_insensitively() {
    assert_eq!(answer("APPLICATION/X-PROTOBUF"), Ok(Protobuf));
    assert_eq!(answer("Application/Json"), Ok(Json));
    assert_eq!(answer("Application/*"), Ok(Json));
    assert_eq!(answer("APPLICATION/JSON;q=0, application/X-Protobuf"), Ok(Protobuf));
}

#[test]
fn parameters_other_than_q_are_ignored() {
    assert_eq!(answer("application/json; charset=utf-8"), Ok(Json));
    assert_eq!(answer("application/x-protobuf;proto=mesos.v1.Event;q=0.5"), Ok(Protobuf));
    assert_eq!(answer("application/x-protobuf;q=0.5;level=1"), Ok(Protobuf));
    assert_eq!(answer("application/json;level"), Ok(Json));
    assert_eq!(answer(";application/json"), Ok(Json));
    // Quoted strings are not understood: the comma still cuts.
    assert_eq!(answer("text/html;x=\"a, application/json\""), Err((406, NOT_ACCEPTABLE.to_owned())));
    assert_eq!(answer("text/html;x=\"a,application/json;b\""), Ok(Json));
}

#[test]
fn malformed_q_values_as_mesos_reads_them() {
    // A q that is not a number refuses, like q=0.
    refused("application/json;q=abc");
    refused("application/json;q=0x1");
    // A decimal comma is a range separator: `q=1` and a range `5`.
    assert_eq!(answer("application/json;q=0,5"), Err((406, NOT_ACCEPTABLE.to_owned())));
    assert_eq!(answer("application/json;q=1,5"), Ok(Json));
    assert_eq!(answer("application/json;q=abc, application/x-protobuf"), Ok(Protobuf));
    // Negative and NaN q-values are not positive.
    refused("application/json;q=-1");
    refused("application/json;q=-0.5");
    refused("application/json;q=NaN");
    // Any positive number admits, over 1 too.
    assert_eq!(answer("application/json;q=2"), Ok(Json));
    assert_eq!(answer("application/json;q=0.001"), Ok(Json));
    assert_eq!(answer("application/json;q=1e-3"), Ok(Json));
    assert_eq!(answer("application/json;q=.5"), Ok(Json));
    assert_eq!(answer("application/json;q=+1"), Ok(Json));
    assert_eq!(answer("application/json;q=inf"), Ok(Json));
    // More than one q: "No q value, or malformed q value", which admits.
    assert_eq!(answer("application/json;q=0;q=0"), Ok(Json));
    // Not a `name=value` pair: no q at all, which admits.
    assert_eq!(answer("application/json;q="), Ok(Json));
    assert_eq!(answer("application/json;q"), Ok(Json));
    assert_eq!(answer("application/json;q=0=1"), Ok(Json));
    assert_eq!(answer("application/json;=0"), Ok(Json));
    // Empty pieces are dropped: `q==0` is `q=0`.
    refused("application/json;q==0");
    // The name is case-sensitive: `Q=0` is no q-value.
    assert_eq!(answer("application/json;Q=0"), Ok(Json));
}

#[test]
fn quality_values() {
    let accept = Some("application/json;q=0.3, application/*;q=0.7, */*;q=0.9");
    assert_eq!(quality(accept, Json), 0.3);
    assert_eq!(quality(accept, Protobuf), 0.7);
    assert_eq!(quality(accept, RecordIo), 0.7);
    assert_eq!(quality(Some("*/*;q=0.9"), RecordIo), 0.9);
    assert_eq!(quality(Some("application/json"), Json), 1.0);
    assert_eq!(quality(Some("application/json"), Protobuf), 0.0);
    assert_eq!(quality(Some("application/json;q=2"), Json), 2.0);
    assert_eq!(quality(Some("application/json;q=-2"), Json), 0.0);
    assert_eq!(quality(Some("application/json;q=nan"), Json), 0.0);
    assert_eq!(quality(Some("application/json;q=x"), Json), 0.0);
    assert!(accepts(Some("application/recordio"), RecordIo));
    assert!(!accepts(Some("application/recordio"), Json));
}

#[test]
fn repeated_accept_headers_last_one_wins() {
    assert_eq!(last_header_value(["application/json", "application/x-protobuf"]), Some("application/x-protobuf"));
    assert_eq!(response_content_type(last_header_value(["application/json", "application/x-protobuf"])), Ok(Protobuf));
    assert_eq!(response_content_type(last_header_value(["application/x-protobuf", "*/*"])), Ok(Json));
    // Not joined: the earlier value does not help a refused last one.
    assert_eq!(
        response_content_type(last_header_value(["application/x-protobuf", "text/html"])),
        Err(NegotiationError::NotAcceptable)
    );
    assert_eq!(
        response_content_type(last_header_value(["application/json", ""])),
        Err(NegotiationError::NotAcceptable)
    );
    // No header at all: anything, JSON preferred.
    assert_eq!(last_header_value(std::iter::empty()), None);
    assert_eq!(response_content_type(last_header_value(Vec::<&str>::new())), Ok(Json));
    // Works for Content-Type too, and for owned values.
    let values = [String::from("text/plain"), String::from("application/x-protobuf")];
    assert_eq!(request_content_type(last_header_value(values.iter().map(String::as_str))), Ok(Protobuf));
}

// ---- The agent's operator API: Content-Type and Message-Content-Type ----

fn agent_request(content_type: Option<&str>, message: Option<&str>) -> Result<BodyType, (u16, String)> {
    agent_request_body_type(content_type, message).map_err(|err| (err.status(), err.to_string()))
}

#[test]
fn agent_plain_request_bodies() {
    assert_eq!(agent_request(Some("application/json"), None), Ok(BodyType::Plain(Json)));
    assert_eq!(agent_request(Some("application/x-protobuf"), None), Ok(BodyType::Plain(Protobuf)));
}

#[test]
fn agent_streaming_request_bodies() {
    assert_eq!(agent_request(Some("application/recordio"), Some("application/json")), Ok(BodyType::Streaming(Json)));
    assert_eq!(
        agent_request(Some("application/recordio"), Some("application/x-protobuf")),
        Ok(BodyType::Streaming(Protobuf))
    );
}

#[test]
fn agent_request_refusals() {
    assert_eq!(agent_request(None, None), Err((400, "Expecting 'Content-Type' to be present".into())));
    assert_eq!(agent_request(None, Some("application/json")).unwrap_err().0, 400);
    let unsupported =
        "Expecting 'Content-Type' of application/json or application/x-protobuf or application/recordio".to_owned();
    for value in ["application/json; charset=utf-8", "Application/RecordIO", "text/plain", "", "garbage"] {
        assert_eq!(agent_request(Some(value), None), Err((415, unsupported.clone())), "{value:?}");
    }
    assert_eq!(
        agent_request(Some("application/recordio"), None),
        Err((400, "Expecting 'Message-Content-Type' to be set for streaming requests".into()))
    );
    let unsupported_message = "Expecting 'Message-Content-Type' of application/json or application/x-protobuf";
    for message in ["application/recordio", "application/json; charset=utf-8", "APPLICATION/JSON", "", "*/*"] {
        assert_eq!(
            agent_request(Some("application/recordio"), Some(message)),
            Err((415, unsupported_message.into())),
            "{message:?}"
        );
    }
    let unexpected = "Expecting 'Message-Content-Type' to be not set for non-streaming requests";
    for content_type in ["application/json", "application/x-protobuf"] {
        for message in ["application/json", "application/x-protobuf", "", "garbage"] {
            assert_eq!(agent_request(Some(content_type), Some(message)), Err((415, unexpected.into())));
        }
    }
}

// ---- The agent's operator API: Accept and Message-Accept ----

fn agent_response(accept: Option<&str>, message: Option<&str>) -> Result<BodyType, (u16, String)> {
    agent_response_body_type(accept, message).map_err(|err| (err.status(), err.to_string()))
}

#[test]
fn agent_plain_responses_prefer_json_then_protobuf() {
    assert_eq!(agent_response(None, None), Ok(BodyType::Plain(Json)));
    assert_eq!(agent_response(Some("*/*"), None), Ok(BodyType::Plain(Json)));
    assert_eq!(agent_response(Some("application/x-protobuf"), None), Ok(BodyType::Plain(Protobuf)));
    assert_eq!(agent_response(Some("application/recordio, application/json"), None), Ok(BodyType::Plain(Json)));
    assert_eq!(
        agent_response(Some("application/recordio, application/x-protobuf;q=0.1"), None),
        Ok(BodyType::Plain(Protobuf))
    );
}

#[test]
fn agent_streaming_responses() {
    // No Message-Accept: JSON records.
    assert_eq!(agent_response(Some("application/recordio"), None), Ok(BodyType::Streaming(Json)));
    assert_eq!(agent_response(Some("application/recordio"), Some("*/*")), Ok(BodyType::Streaming(Json)));
    assert_eq!(
        agent_response(Some("application/recordio"), Some("application/x-protobuf")),
        Ok(BodyType::Streaming(Protobuf))
    );
    assert_eq!(
        agent_response(Some("application/recordio"), Some("application/json;q=0, application/*")),
        Ok(BodyType::Streaming(Protobuf))
    );
    assert_eq!(
        agent_response(Some("application/json;q=0, application/x-protobuf;q=0, */*"), None),
        Ok(BodyType::Streaming(Json))
    );
}

#[test]
fn agent_response_refusals() {
    let not_acceptable =
        "Expecting 'Accept' to allow application/json or application/x-protobuf or application/recordio".to_owned();
    for accept in ["text/html", "", "garbage", "application/recordio;q=0", "*/*;q=0"] {
        assert_eq!(agent_response(Some(accept), None), Err((406, not_acceptable.clone())), "{accept:?}");
    }
    let message_not_acceptable = "Expecting 'Message-Accept' to allow application/json or application/x-protobuf";
    for message in ["text/html", "", "application/recordio", "application/*;q=0"] {
        assert_eq!(
            agent_response(Some("application/recordio"), Some(message)),
            Err((406, message_not_acceptable.into())),
            "{message:?}"
        );
    }
    let unexpected = "Expecting 'Message-Accept' to be not set for non-streaming responses";
    for accept in [None, Some("*/*"), Some("application/json"), Some("application/x-protobuf")] {
        for message in ["application/json", "", "text/html"] {
            assert_eq!(agent_response(accept, Some(message)), Err((406, unexpected.into())), "{accept:?}");
        }
    }
}

// ---- The agent's operator API: streaming only where the call has it ----

fn all_agent_calls() -> Vec<AgentCall> {
    (0..64).filter_map(|n| AgentCall::try_from(n).ok()).collect()
}

#[test]
fn streaming_request_bodies_only_for_attach_container_input() {
    let plain = BodyType::Plain(Json);
    let calls = all_agent_calls();
    assert!(calls.len() > 30);
    for call in calls {
        for message in [Json, Protobuf] {
            let stream = BodyType::Streaming(message);
            if call == AgentCall::AttachContainerInput {
                assert_eq!(check_streaming_call(call, stream, plain), Ok(()));
                let err = check_streaming_call(call, BodyType::Plain(message), plain).unwrap_err();
                assert_eq!(err, NegotiationError::StreamingRequestRequired { call });
                assert_eq!(err.status(), 415);
                assert_eq!(
                    err.to_string(),
                    "Expecting 'Content-Type' to be application/recordio for ATTACH_CONTAINER_INPUT call"
                );
            } else {
                let err = check_streaming_call(call, stream, plain).unwrap_err();
                assert_eq!(err, NegotiationError::StreamingRequestNotSupported { call });
                assert_eq!(err.status(), 415);
                assert_eq!(
                    err.to_string(),
                    format!(
                        "Streaming 'Content-Type' application/recordio is not supported for {} call",
                        call.as_str_name()
                    )
                );
            }
        }
    }
}

#[test]
fn streaming_responses_only_for_attach_container_output_and_sessions() {
    let streaming_responses = [AgentCall::AttachContainerOutput, AgentCall::LaunchNestedContainerSession];
    for call in all_agent_calls() {
        let request =
            if call == AgentCall::AttachContainerInput { BodyType::Streaming(Json) } else { BodyType::Plain(Json) };
        assert_eq!(check_streaming_call(call, request, BodyType::Plain(Protobuf)), Ok(()), "{call:?}");
        let result = check_streaming_call(call, request, BodyType::Streaming(Protobuf));
        if streaming_responses.contains(&call) {
            assert_eq!(result, Ok(()));
        } else {
            let err = result.unwrap_err();
            assert_eq!(err, NegotiationError::StreamingResponseNotSupported { call });
            assert_eq!(err.status(), 406);
            assert_eq!(err.to_string(), format!("Streaming response is not supported for {} call", call.as_str_name()));
        }
    }
}

#[test]
fn the_request_is_checked_before_the_response() {
    let stream = BodyType::Streaming(Json);
    assert_eq!(
        check_streaming_call(AgentCall::GetHealth, stream, stream),
        Err(NegotiationError::StreamingRequestNotSupported { call: AgentCall::GetHealth })
    );
    assert_eq!(
        check_streaming_call(AgentCall::AttachContainerInput, BodyType::Plain(Json), stream),
        Err(NegotiationError::StreamingRequestRequired { call: AgentCall::AttachContainerInput })
    );
}

// ---- Every error: its status and its text ----

#[test]
fn every_error_status_and_text() {
    use NegotiationError as E;
    let cases = [
        (E::MissingContentType, 400, "Expecting 'Content-Type' to be present"),
        (E::UnsupportedContentType, 415, UNSUPPORTED),
        (E::NotAcceptable, 406, NOT_ACCEPTABLE),
        (
            E::AgentUnsupportedContentType,
            415,
            "Expecting 'Content-Type' of application/json or application/x-protobuf or application/recordio",
        ),
        (
            E::AgentNotAcceptable,
            406,
            "Expecting 'Accept' to allow application/json or application/x-protobuf or application/recordio",
        ),
        (E::MissingMessageContentType, 400, "Expecting 'Message-Content-Type' to be set for streaming requests"),
        (
            E::UnsupportedMessageContentType,
            415,
            "Expecting 'Message-Content-Type' of application/json or application/x-protobuf",
        ),
        (
            E::UnexpectedMessageContentType,
            415,
            "Expecting 'Message-Content-Type' to be not set for non-streaming requests",
        ),
        (
            E::MessageNotAcceptable,
            406,
            "Expecting 'Message-Accept' to allow application/json or application/x-protobuf",
        ),
        (E::UnexpectedMessageAccept, 406, "Expecting 'Message-Accept' to be not set for non-streaming responses"),
        (
            E::StreamingRequestNotSupported { call: AgentCall::GetState },
            415,
            "Streaming 'Content-Type' application/recordio is not supported for GET_STATE call",
        ),
        (
            E::StreamingRequestRequired { call: AgentCall::AttachContainerInput },
            415,
            "Expecting 'Content-Type' to be application/recordio for ATTACH_CONTAINER_INPUT call",
        ),
        (
            E::StreamingResponseNotSupported { call: AgentCall::LaunchContainer },
            406,
            "Streaming response is not supported for LAUNCH_CONTAINER call",
        ),
    ];
    for (err, status, text) in cases {
        assert_eq!(err.status(), status, "{err:?}");
        assert_eq!(err.to_string(), text);
        // A real std error, with no source.
        let dyn_err: &dyn std::error::Error = &err;
        assert!(dyn_err.source().is_none());
    }
}

#[test]
fn body_type_accessors() {
    for message in [Json, Protobuf] {
        let plain = BodyType::Plain(message);
        assert_eq!((plain.content_type(), plain.message_type(), plain.message_header()), (message, message, None));
        assert!(!plain.is_streaming());
        let stream = BodyType::Streaming(message);
        assert_eq!(
            (stream.content_type(), stream.message_type(), stream.message_header()),
            (RecordIo, message, Some(message))
        );
        assert!(stream.is_streaming());
    }
}

// ---- Properties over arbitrary input ----

proptest! {
    #[test]
    fn never_panics(value in any::<String>(), other in any::<String>()) {
        let _ = request_content_type(Some(&value));
        let _ = response_content_type(Some(&value));
        let _ = response_content_type_by_quality(Some(&value));
        let _ = agent_request_body_type(Some(&value), Some(&other));
        let _ = agent_response_body_type(Some(&value), Some(&other));
        for content_type in [Json, Protobuf, RecordIo] {
            let q = quality(Some(&value), content_type);
            prop_assert!(q >= 0.0);
            prop_assert_eq!(accepts(Some(&value), content_type), q > 0.0);
        }
    }

    #[test]
    fn master_answer_follows_accepts(
        ranges in proptest::collection::vec(
            (
                prop::sample::select(vec![
                    "application/json", "application/x-protobuf", "application/*", "*/*", "text/html",
                    "APPLICATION/JSON", "application/recordio",
                ]),
                prop::option::of(prop::sample::select(vec!["0", "0.0", "0.5", "1", "abc", "-1", "", "2"])),
            ),
            0..5,
        )
    ) {
        let accept = ranges
            .iter()
            .map(|(range, q)| match q {
                Some(q) => format!("{range};q={q}"),
                None => (*range).to_owned(),
            })
            .collect::<Vec<_>>()
            .join(", ");
        let json = accepts(Some(&accept), Json);
        let protobuf = accepts(Some(&accept), Protobuf);
        let expected = if json {
            Ok(Json)
        } else if protobuf {
            Ok(Protobuf)
        } else {
            Err(NegotiationError::NotAcceptable)
        };
        prop_assert_eq!(response_content_type(Some(&accept)), expected.clone());
        // Ranking by q changes the choice, never whether there is one.
        prop_assert_eq!(response_content_type_by_quality(Some(&accept)).is_ok(), expected.is_ok());
    }
}
