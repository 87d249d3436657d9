"""The event checksum, exactly as Wompi documents it (docs.wompi.co/docs/colombia/eventos): the values
of the properties named in signature.properties, read from `data`, then the timestamp, then the
events secret, concatenated; SHA-256 in hex.

Wompi's own example shows the concatenated string and, next to it, a checksum
(3476DDA5...8BD0) that is not the SHA-256 of that string. The string is what the algorithm says to
build; its SHA-256, computed here, is 5a18ec5e...aefbe. The algorithm is not bent to the printed value.
"""

import hashlib
import json

import pytest
from django.core.exceptions import ValidationError

from portal.gateways.events import checksum_is_valid, event_id, parse_event, signed_values
from portal.gateways.wompi import event_checksum

DOCS_SECRET = "prod_events_OcHnIzeBl5socpwByQ4hA52Em3USQ93Z"
DOCS_CONCATENATION = "1234-1610641025-49201APPROVED44900001530291411prod_events_OcHnIzeBl5socpwByQ4hA52Em3USQ93Z"
DOCS_PRINTED_CHECKSUM = "3476DDA50F64CD7CBD160689640506FEBEA93239BC524FC0469B2C68A3CC8BD0"
SHA256_OF_THE_DOCS_STRING = "5a18ec5e8fdb7df463e9f94774cba8f583ba21bd04a09ceff2ea68a4bc0aefbe"


def docs_event(checksum=DOCS_PRINTED_CHECKSUM):
    """The event of Wompi's documentation, field for field."""
    return {
        "event": "transaction.updated",
        "data": {
            "transaction": {
                "id": "1234-1610641025-49201",
                "amount_in_cents": 4490000,
                "reference": "MZQ3X2DE2SMX",
                "customer_email": "juan.perez@gmail.com",
                "currency": "COP",
                "payment_method_type": "NEQUI",
                "redirect_url": "https://mitienda.com.co/pagos/redireccion",
                "status": "APPROVED",
                "shipping_address": None,
                "payment_link_id": None,
                "payment_source_id": None,
            }
        },
        "environment": "prod",
        "signature": {
            "properties": ["transaction.id", "transaction.status", "transaction.amount_in_cents"],
            "checksum": checksum,
        },
        "timestamp": 1530291411,
        "sent_at": "2018-07-20T16:45:05.000Z",
    }


def parsed(document):
    return parse_event(json.dumps(document).encode())


def test_the_values_concatenated_are_the_string_wompis_documentation_shows():
    event = parsed(docs_event())

    values = signed_values(event)

    assert "".join(values) + str(event.timestamp) + DOCS_SECRET == DOCS_CONCATENATION


def test_the_checksum_is_the_sha256_of_that_string_computed_here():
    assert hashlib.sha256(DOCS_CONCATENATION.encode()).hexdigest() == SHA256_OF_THE_DOCS_STRING
    event = parsed(docs_event())

    assert event_checksum(values=signed_values(event), timestamp=event.timestamp, secret=DOCS_SECRET) == (
        SHA256_OF_THE_DOCS_STRING
    )


def test_the_checksum_printed_in_the_documentation_is_not_that_strings_sha256_and_is_refused():
    assert DOCS_PRINTED_CHECKSUM.lower() != SHA256_OF_THE_DOCS_STRING
    event = parsed(docs_event(DOCS_PRINTED_CHECKSUM))

    assert not checksum_is_valid(event, signed_values(event), header_checksum="", secret=DOCS_SECRET)


@pytest.mark.parametrize("checksum", [SHA256_OF_THE_DOCS_STRING, SHA256_OF_THE_DOCS_STRING.upper()])
def test_the_computed_checksum_is_accepted_in_either_case(checksum):
    event = parsed(docs_event(checksum))

    assert checksum_is_valid(event, signed_values(event), header_checksum="", secret=DOCS_SECRET)


def test_the_checksum_is_accepted_from_the_x_event_checksum_header():
    document = docs_event()
    del document["signature"]["checksum"]
    event = parsed(document)

    assert checksum_is_valid(
        event, signed_values(event), header_checksum=SHA256_OF_THE_DOCS_STRING.upper(), secret=DOCS_SECRET
    )
    assert not checksum_is_valid(event, signed_values(event), header_checksum="", secret=DOCS_SECRET)


@pytest.mark.parametrize(
    ("path", "value"),
    [(("transaction", "amount_in_cents"), 100), (("transaction", "status"), "DECLINED"), (("transaction", "id"), "9")],
)
def test_changing_any_signed_value_breaks_the_checksum(path, value):
    document = docs_event(SHA256_OF_THE_DOCS_STRING)
    document["data"][path[0]][path[1]] = value
    event = parsed(document)

    assert not checksum_is_valid(event, signed_values(event), header_checksum="", secret=DOCS_SECRET)


def test_a_different_timestamp_or_secret_breaks_the_checksum():
    document = docs_event(SHA256_OF_THE_DOCS_STRING)
    document["timestamp"] += 1
    event = parsed(document)
    assert not checksum_is_valid(event, signed_values(event), header_checksum="", secret=DOCS_SECRET)

    event = parsed(docs_event(SHA256_OF_THE_DOCS_STRING))
    assert not checksum_is_valid(event, signed_values(event), header_checksum="", secret="prod_events_other")


def test_the_properties_are_read_in_the_order_the_signature_lists_them():
    document = docs_event()
    document["signature"]["properties"] = ["transaction.status", "transaction.id"]

    assert signed_values(parsed(document)) == ["APPROVED", "1234-1610641025-49201"]


def test_a_property_path_the_data_lacks_is_a_malformed_event():
    document = docs_event()
    document["signature"]["properties"] = ["transaction.id", "transaction.nothing"]

    with pytest.raises(ValidationError, match=r"transaction\.nothing"):
        signed_values(parsed(document))


def test_an_empty_events_secret_accepts_nothing():
    event = parsed(docs_event())
    unsigned = event_checksum(values=signed_values(event), timestamp=event.timestamp, secret="")

    assert not checksum_is_valid(event, signed_values(event), header_checksum=unsigned, secret="")


def test_the_event_id_is_the_same_for_a_resent_event_and_differs_for_another_state():
    first = parsed(docs_event())
    resent = parsed(docs_event())
    declined = docs_event()
    declined["data"]["transaction"]["status"] = "DECLINED"
    declined = parsed(declined)

    assert event_id(first, signed_values(first)) == event_id(resent, signed_values(resent))
    assert event_id(first, signed_values(first)) != event_id(declined, signed_values(declined))
