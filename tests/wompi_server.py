"""A local Wompi: a real HTTP server that speaks the part of Wompi's API Amparo uses, with the
sandbox's documented outcomes (docs.wompi.co: datos de prueba en sandbox, tokens de aceptación,
métodos de pago, eventos, errores).

- GET  /v1/merchants/{public_key}         presigned acceptance tokens (end-user policy, personal data)
- POST /v1/tokens/cards                   card tokenisation, as Wompi's widget does it (public key)
- POST /v1/transactions                   private key; acceptance token, integrity signature and a
                                          reference never used before, or 422 as Wompi answers
- GET  /v1/transactions/{id}              the transaction; PSE ones carry extra.async_payment_url
- GET  /v1/transactions?reference=...     private key
- GET  /v1/pse/financial_institutions     the sandbox's two banks
- GET  /pse-bank/{id}                     the simulated bank page a PSE payer is sent to: it settles

Sandbox outcomes: card 4242 4242 4242 4242 approves, 4111 1111 1111 1111 declines, any other card
ends in ERROR; Nequi 3991111111 approves, 3992222222 declines, any other number ends in ERROR; PSE
bank "1" approves, "2" declines. A new transaction is PENDING until `settle` (or the bank page).

Faults for the client's robustness: `drop_connections(n)` closes the next n connections without an
answer, `delay_answers(seconds, n)` answers the next n requests late (a POST still creates its
transaction first, as a slow Wompi would), `answer_with(status, n)` answers the next n with an error.
"""

import hashlib
import json
import secrets
import socket
import threading
import time
from contextlib import contextmanager, suppress
from datetime import UTC, datetime
from http.server import BaseHTTPRequestHandler
from urllib.parse import parse_qs, urlsplit

import requests

from .local_server import LocalServer

APPROVING_CARD = "4242424242424242"
DECLINING_CARD = "4111111111111111"
APPROVING_NEQUI = "3991111111"
DECLINING_NEQUI = "3992222222"
APPROVING_BANK = "1"
DECLINING_BANK = "2"
SANDBOX_BANKS = [
    {"financial_institution_code": APPROVING_BANK, "financial_institution_name": "Banco que aprueba"},
    {"financial_institution_code": DECLINING_BANK, "financial_institution_name": "Banco que rechaza"},
]
SIGNED_PROPERTIES = ["transaction.id", "transaction.status", "transaction.amount_in_cents"]
PSE_LEGAL_ID_TYPES = {"CC", "CE", "NIT", "PP", "TI"}


@contextmanager
def running_wompi(settings):
    """A started FakeWompi with Django's `settings` (pytest-django's fixture) pointing at it."""
    wompi = FakeWompi().start()
    for name, value in wompi.settings().items():
        setattr(settings, name, value)
    try:
        yield wompi
    finally:
        wompi.stop()


def _sha256(text):
    return hashlib.sha256(text.encode()).hexdigest()


class _Refusal(Exception):
    def __init__(self, status, body):
        super().__init__(status)
        self.status = status
        self.body = body


def _invalid(**messages):
    return _Refusal(422, {"error": {"type": "INPUT_VALIDATION_ERROR", "messages": messages}})


class FakeWompi(LocalServer):
    public_key = "pub_test_amparoLocal0000000000000"
    private_key = "prv_test_amparoLocal0000000000000"
    events_secret = "test_events_amparoLocal00000000000"
    integrity_secret = "test_integrity_amparoLocal000000000"

    def __init__(self):
        self.transactions = {}
        self.card_tokens = {}
        self.acceptance_tokens = set()
        self.requests = []
        self._faults = []
        self._lock = threading.Lock()
        self._sequence = 0
        self.listen(_Handler, "wompi")

    # --- running ------------------------------------------------------------------------------------

    @property
    def url(self):
        return f"{self.root}/v1"

    def settings(self, **overrides):
        """Django settings that point Amparo's client at this server."""
        return {
            "WOMPI_API_URL": self.url,
            "WOMPI_PUBLIC_KEY": self.public_key,
            "WOMPI_PRIVATE_KEY": self.private_key,
            "WOMPI_EVENTS_SECRET": self.events_secret,
            "WOMPI_INTEGRITY_SECRET": self.integrity_secret,
            "WOMPI_CONNECT_TIMEOUT_SECONDS": 1.0,
            "WOMPI_READ_TIMEOUT_SECONDS": 1.0,
            "WOMPI_ATTEMPTS": 3,
            **overrides,
        }

    # --- faults -------------------------------------------------------------------------------------

    def drop_connections(self, count=1):
        self._faults.extend([("drop", None)] * count)

    def delay_answers(self, seconds, count=1):
        self._faults.extend([("delay", seconds)] * count)

    def answer_with(self, status, count=1):
        self._faults.extend([("status", status)] * count)

    def _next_fault(self):
        with self._lock:
            return self._faults.pop(0) if self._faults else (None, None)

    def calls(self, method, path):
        return sum(1 for seen_method, seen_path in self.requests if seen_method == method and seen_path == path)

    # --- what a payer does outside Amparo -------------------------------------------------------------

    def tokenize_card(self, number, *, cvc="123", exp_month="12", exp_year="30", card_holder="Pedro Pérez"):
        """Tokenise a card over HTTP, as Wompi's widget does in the payer's browser; the token id."""
        answer = requests.post(
            f"{self.url}/tokens/cards",
            json={
                "number": number,
                "cvc": cvc,
                "exp_month": exp_month,
                "exp_year": exp_year,
                "card_holder": card_holder,
            },
            headers={"Authorization": f"Bearer {self.public_key}"},
            timeout=5,
        )
        answer.raise_for_status()
        return answer.json()["data"]["id"]

    def settle(self, wompi_id, status=None):
        """End a transaction the way the sandbox would (or with `status`); the transaction."""
        with self._lock:
            transaction = self.transactions[wompi_id]
            transaction["status"] = status or transaction["_outcome"]
            transaction["finalized_at"] = datetime.now(UTC).isoformat(timespec="milliseconds")
            return self._public(transaction)

    def add_settled_transaction(self, *, wompi_id, reference, amount_in_cents, customer_email, status="APPROVED"):
        """A Nequi transaction that went through Wompi outside this server's API and ended with `status`
        (for benchmarks, which need thousands without a POST each); the transaction."""
        with self._lock:
            self.transactions[wompi_id] = {
                "id": wompi_id,
                "created_at": datetime.now(UTC).isoformat(timespec="milliseconds"),
                "finalized_at": datetime.now(UTC).isoformat(timespec="milliseconds"),
                "amount_in_cents": amount_in_cents,
                "reference": reference,
                "customer_email": customer_email,
                "currency": "COP",
                "payment_method_type": "NEQUI",
                "payment_method": {"type": "NEQUI", "phone_number": APPROVING_NEQUI},
                "redirect_url": None,
                "status": status,
                "status_message": None,
                "shipping_address": None,
                "payment_link_id": None,
                "payment_source_id": None,
                "_outcome": status,
            }
            return self._public(self.transactions[wompi_id])

    def transaction_with_reference(self, reference):
        return next(self._public(item) for item in self.transactions.values() if item["reference"] == reference)

    # --- events -------------------------------------------------------------------------------------

    def event(self, wompi_id, *, status=None, timestamp=None, amount_in_cents=None, secret=None):
        """The `transaction.updated` event Wompi would send about a transaction, signed (bytes, headers)."""
        transaction = dict(self._public(self.transactions[wompi_id]))
        if status is not None:
            transaction["status"] = status
        if amount_in_cents is not None:
            transaction["amount_in_cents"] = amount_in_cents
        timestamp = int(time.time()) if timestamp is None else timestamp
        values = "".join(str(transaction[path.split(".", 1)[1]]) for path in SIGNED_PROPERTIES)
        checksum = _sha256(values + str(timestamp) + (secret or self.events_secret)).upper()
        body = {
            "event": "transaction.updated",
            "data": {
                "transaction": {
                    key: transaction.get(key)
                    for key in (
                        "id",
                        "amount_in_cents",
                        "reference",
                        "customer_email",
                        "currency",
                        "payment_method_type",
                        "redirect_url",
                        "status",
                        "shipping_address",
                        "payment_link_id",
                        "payment_source_id",
                    )
                }
            },
            "environment": "test",
            "signature": {"properties": SIGNED_PROPERTIES, "checksum": checksum},
            "timestamp": timestamp,
            "sent_at": datetime.fromtimestamp(timestamp, UTC).isoformat(timespec="milliseconds"),
        }
        return json.dumps(body).encode(), {"X-Event-Checksum": checksum}

    def deliver(self, webhook_url, wompi_id, **event_options):
        """POST the event to Amparo over HTTP, as Wompi does; the answer."""
        body, headers = self.event(wompi_id, **event_options)
        return requests.post(
            webhook_url, data=body, headers={"Content-Type": "application/json", **headers}, timeout=10
        )

    # --- the API ------------------------------------------------------------------------------------

    def _public(self, transaction):
        return {key: value for key, value in transaction.items() if not key.startswith("_")}

    def _authorised(self, headers, *keys):
        if headers.get("Authorization") not in {f"Bearer {key}" for key in keys}:
            raise _Refusal(401, {"error": {"type": "INVALID_ACCESS_TOKEN", "reason": "Se esperaba una llave válida"}})

    def _new_acceptance_token(self, kind):
        token = f"eyJ.{kind}.{secrets.token_urlsafe(12)}"
        self.acceptance_tokens.add(token)
        return token

    def merchant(self, public_key):
        if public_key != self.public_key:
            raise _Refusal(404, {"error": {"type": "NOT_FOUND_ERROR", "reason": "La entidad solicitada no existe"}})
        return 200, {
            "data": {
                "id": 1,
                "name": "Amparo Seguros (sandbox)",
                "public_key": self.public_key,
                "presigned_acceptance": {
                    "acceptance_token": self._new_acceptance_token("policy"),
                    "permalink": f"{self.root}/documents/terminos.pdf",
                    "type": "END_USER_POLICY",
                },
                "presigned_personal_data_auth": {
                    "acceptance_token": self._new_acceptance_token("personal"),
                    "permalink": f"{self.root}/documents/datos-personales.pdf",
                    "type": "PERSONAL_DATA_AUTH",
                },
            }
        }

    def tokenize(self, headers, body):
        self._authorised(headers, self.public_key)
        number = str(body.get("number", "")).replace(" ", "")
        if not number.isdigit() or not 13 <= len(number) <= 19:
            raise _invalid(number=["El número de tarjeta no es válido"])
        if not str(body.get("cvc", "")).isdigit():
            raise _invalid(cvc=["El CVC no es válido"])
        token = f"tok_test_{secrets.token_hex(10)}"
        self.card_tokens[token] = number
        return 201, {
            "status": "CREATED",
            "data": {
                "id": token,
                "created_at": datetime.now(UTC).isoformat(),
                "brand": "VISA",
                "name": f"VISA-{number[-4:]}",
                "last_four": number[-4:],
                "bin": number[:6],
                "exp_year": body.get("exp_year"),
                "exp_month": body.get("exp_month"),
                "card_holder": body.get("card_holder", ""),
            },
        }

    def _outcome(self, payment_method):
        kind = payment_method.get("type")
        if kind == "CARD":
            number = self.card_tokens.get(payment_method.get("token"))
            if number is None:
                raise _invalid(payment_method=["El token de la tarjeta no existe"])
            installments = payment_method.get("installments")
            if isinstance(installments, bool) or not isinstance(installments, int) or installments < 1:
                raise _invalid(payment_method=["installments debe ser un entero mayor que cero"])
            return {APPROVING_CARD: "APPROVED", DECLINING_CARD: "DECLINED"}.get(number, "ERROR"), {
                "type": "CARD",
                "installments": installments,
                "extra": {"brand": "VISA", "last_four": number[-4:], "name": f"VISA-{number[-4:]}"},
            }
        if kind == "NEQUI":
            phone = payment_method.get("phone_number")
            if not isinstance(phone, str) or not phone.isdigit() or len(phone) != 10:
                raise _invalid(payment_method=["phone_number debe tener 10 dígitos"])
            return {APPROVING_NEQUI: "APPROVED", DECLINING_NEQUI: "DECLINED"}.get(phone, "ERROR"), {
                "type": "NEQUI",
                "phone_number": phone,
            }
        if kind == "PSE":
            problems = []
            if payment_method.get("user_type") not in (0, 1):
                problems.append("user_type debe ser 0 (persona) o 1 (empresa)")
            if payment_method.get("user_legal_id_type") not in PSE_LEGAL_ID_TYPES:
                problems.append("user_legal_id_type no es válido")
            if not str(payment_method.get("user_legal_id", "")).strip():
                problems.append("user_legal_id es requerido")
            description = payment_method.get("payment_description")
            if not isinstance(description, str) or not 0 < len(description) <= 30:
                problems.append("payment_description es requerido, máximo 30 caracteres")
            bank = str(payment_method.get("financial_institution_code", ""))
            if bank not in {APPROVING_BANK, DECLINING_BANK}:
                problems.append("financial_institution_code no es válido")
            if problems:
                raise _invalid(payment_method=problems)
            return {APPROVING_BANK: "APPROVED", DECLINING_BANK: "DECLINED"}[bank], dict(payment_method)
        raise _invalid(payment_method=["El tipo de método de pago no es válido"])

    def create_transaction(self, headers, body):
        self._authorised(headers, self.private_key)
        messages = {}
        if body.get("acceptance_token") not in self.acceptance_tokens:
            messages["acceptance_token"] = ["El token de aceptación no es válido"]
        if body.get("accept_personal_auth") not in self.acceptance_tokens:
            messages["accept_personal_auth"] = ["El token de autorización de datos personales no es válido"]
        amount = body.get("amount_in_cents")
        if isinstance(amount, bool) or not isinstance(amount, int) or amount <= 0:
            messages["amount_in_cents"] = ["Debe ser un entero mayor que cero"]
        if body.get("currency") != "COP":
            messages["currency"] = ["Sólo se permite COP"]
        reference = body.get("reference")
        if not isinstance(reference, str) or not reference:
            messages["reference"] = ["La referencia es requerida"]
        elif any(item["reference"] == reference for item in self.transactions.values()):
            messages["reference"] = ["La referencia ya ha sido usada"]
        if not body.get("customer_email"):
            messages["customer_email"] = ["El correo es requerido"]
        expected = _sha256(f"{reference}{amount}{body.get('currency')}{self.integrity_secret}")
        if body.get("signature") != expected:
            messages["signature"] = ["La firma es inválida"]
        if not isinstance(body.get("payment_method"), dict):
            messages["payment_method"] = ["El método de pago es requerido"]
        if messages:
            raise _invalid(**messages)
        outcome, payment_method = self._outcome(body["payment_method"])
        with self._lock:
            self._sequence += 1
            wompi_id = f"{self._sequence}-{int(time.time())}-{secrets.randbelow(90000) + 10000}"
            if payment_method["type"] == "PSE":
                payment_method["extra"] = {"async_payment_url": f"{self.root}/pse-bank/{wompi_id}"}
            transaction = {
                "id": wompi_id,
                "created_at": datetime.now(UTC).isoformat(timespec="milliseconds"),
                "finalized_at": None,
                "amount_in_cents": amount,
                "reference": reference,
                "customer_email": body["customer_email"],
                "currency": "COP",
                "payment_method_type": payment_method["type"],
                "payment_method": payment_method,
                "redirect_url": body.get("redirect_url"),
                "status": "PENDING",
                "status_message": None,
                "shipping_address": None,
                "payment_link_id": None,
                "payment_source_id": None,
                "_outcome": outcome,
            }
            self.transactions[wompi_id] = transaction
        created = self._public(transaction)
        # Wompi answers a new PSE transaction before the bank link exists; a later GET has it.
        if payment_method["type"] == "PSE":
            created = {**created, "payment_method": {k: v for k, v in payment_method.items() if k != "extra"}}
        return 201, {"data": created}

    def get_transaction(self, wompi_id):
        transaction = self.transactions.get(wompi_id)
        if transaction is None:
            raise _Refusal(404, {"error": {"type": "NOT_FOUND_ERROR", "reason": "La entidad solicitada no existe"}})
        return 200, {"data": self._public(transaction)}

    def search_transactions(self, headers, query):
        self._authorised(headers, self.private_key)
        reference = query.get("reference", [""])[0]
        return 200, {
            "data": [self._public(item) for item in self.transactions.values() if item["reference"] == reference]
        }

    def pse_banks(self, headers):
        self._authorised(headers, self.public_key)
        return 200, {"data": SANDBOX_BANKS}

    def route(self, method, path, headers, query, body):
        parts = path.strip("/").split("/")
        if method == "GET" and parts[:1] == ["pse-bank"] and len(parts) == 2 and parts[1] in self.transactions:
            self.settle(parts[1])
            return 200, None
        if parts[:1] != ["v1"]:
            raise _Refusal(404, {"error": {"type": "NOT_FOUND_ERROR", "reason": "Ruta desconocida"}})
        parts = parts[1:]
        if method == "GET" and len(parts) == 2 and parts[0] == "merchants":
            return self.merchant(parts[1])
        if method == "POST" and parts == ["tokens", "cards"]:
            return self.tokenize(headers, body)
        if method == "POST" and parts == ["transactions"]:
            return self.create_transaction(headers, body)
        if method == "GET" and parts == ["transactions"]:
            return self.search_transactions(headers, query)
        if method == "GET" and len(parts) == 2 and parts[0] == "transactions":
            return self.get_transaction(parts[1])
        if method == "GET" and parts == ["pse", "financial_institutions"]:
            return self.pse_banks(headers)
        raise _Refusal(404, {"error": {"type": "NOT_FOUND_ERROR", "reason": "Ruta desconocida"}})


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def log_message(self, format, *args):
        pass

    def handle(self):
        # The client gave up on a delayed answer and closed its end: nothing to tell it.
        with suppress(ConnectionError, TimeoutError, OSError):
            super().handle()

    def _serve(self, method):
        wompi = self.server.wompi
        split = urlsplit(self.path)
        wompi.requests.append((method, split.path))
        length = int(self.headers.get("Content-Length") or 0)
        raw = self.rfile.read(length) if length else b""
        fault, value = wompi._next_fault()
        if fault == "drop":
            self.close_connection = True
            self.connection.shutdown(socket.SHUT_RDWR)
            return
        if fault == "status":
            self._answer(value, {"error": {"type": "SERVER_ERROR", "reason": "Error interno"}})
            return
        try:
            body = json.loads(raw) if raw else {}
            status, answer = wompi.route(method, split.path, self.headers, parse_qs(split.query), body)
        except _Refusal as refusal:
            status, answer = refusal.status, refusal.body
        except ValueError:
            status, answer = 422, {"error": {"type": "INPUT_VALIDATION_ERROR", "messages": {"body": ["JSON inválido"]}}}
        if fault == "delay":
            time.sleep(value)
        if answer is None:
            self._answer_html(status, "<p>Pago procesado por el banco de pruebas.</p>")
        else:
            self._answer(status, answer)

    def _answer(self, status, answer):
        payload = json.dumps(answer).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(payload)))
        self.end_headers()
        self.wfile.write(payload)

    def _answer_html(self, status, html):
        payload = html.encode()
        self.send_response(status)
        self.send_header("Content-Type", "text/html; charset=utf-8")
        self.send_header("Content-Length", str(len(payload)))
        self.end_headers()
        self.wfile.write(payload)

    def do_GET(self):
        self._serve("GET")

    def do_POST(self):
        self._serve("POST")
