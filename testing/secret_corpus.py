"""Realistic FAKE credentials of every kind the scanner must recognise.

Each is assembled at run time from a prefix split in two and a body drawn from a
seeded generator, so this repository holds no scannable secret (and a push
protection scanner has nothing to trip on), while the values have the real
shapes: prefixes, lengths, alphabets.
"""

from __future__ import annotations

import base64
import json
import random
import string
from dataclasses import dataclass

ALNUM = string.ascii_letters + string.digits
HEX = "0123456789abcdef"
B64 = ALNUM + "+/"


@dataclass(frozen=True)
class Fake:
    kind: str  # the marker's kind the scanner must name
    secret: str  # the part that must never be stored
    line: str  # a realistic line of code or config carrying it
    needles: tuple[str, ...]  # substrings that must not appear anywhere we store


def _r(rng: random.Random, alphabet: str, n: int) -> str:
    # At least one digit and one letter, as real random tokens have.
    while True:
        s = "".join(rng.choice(alphabet) for _ in range(n))
        if (
            n < 8
            or alphabet == HEX
            or (any(c.isdigit() for c in s) and any(c.isalpha() for c in s))
        ):
            return s


def _b64url(obj: object) -> str:
    return base64.urlsafe_b64encode(json.dumps(obj).encode()).decode().rstrip("=")


def pem_block(rng: random.Random, label: str = "RSA PRIVATE KEY") -> tuple[str, list[str]]:
    body = [_r(rng, B64, 64) for _ in range(6)] + [_r(rng, B64, 20) + "=="]
    dash = "-" * 5
    lines = [f"{dash}BEGIN {label}{dash}", *body, f"{dash}END {label}{dash}"]
    return "\n".join(lines), body


def corpus(seed: int = 11) -> list[Fake]:
    rng = random.Random(seed)
    out: list[Fake] = []

    def add(kind: str, secret: str, line: str, *needles: str) -> None:
        out.append(Fake(kind, secret, line, needles or (secret,)))

    aws_id = "AK" + "IA" + _r(rng, string.ascii_uppercase + string.digits, 16)
    add("aws-access-key-id", aws_id, f'AWS_ACCESS_KEY_ID = "{aws_id}"')
    aws_secret = _r(rng, B64, 40)
    add("aws-secret-access-key", aws_secret, f"aws_secret_access_key = {aws_secret}")
    block, body = pem_block(rng, "PRIVATE KEY")
    gcp = {
        "type": "service_account",
        "project_id": "demo-project",
        "private_key": block + "\n",
    }
    gcp_line = '  "private_key": ' + json.dumps(gcp["private_key"]) + ","
    add("private-key", body[0], gcp_line, *body)
    azure_key = _r(rng, B64, 86) + "=="
    add(
        "azure-key",
        azure_key,
        "STORAGE = 'DefaultEndpointsProtocol=https;AccountName=demoacct;"
        f"AccountKey={azure_key};EndpointSuffix=core.windows.net'",
    )
    bus_key = _r(rng, B64, 43) + "="
    add(
        "azure-key",
        bus_key,
        f'conn = "Endpoint=sb://demo.servicebus.windows.net/;SharedAccessKeyName=app;'
        f'SharedAccessKey={bus_key}"',
    )
    ghp = "gh" + "p_" + _r(rng, ALNUM, 36)
    add("github-token", ghp, f'headers = {{"Authorization": "token {ghp}"}}')
    pat = "github" + "_pat_" + _r(rng, ALNUM, 22) + "_" + _r(rng, ALNUM, 59)
    add("github-token", pat, f"GH_FINE = '{pat}'")
    glpat = "gl" + "pat-" + _r(rng, ALNUM + "_-", 20)
    add("gitlab-token", glpat, f"gitlab = Gitlab(url, private_token='{glpat}')")
    sk = "s" + "k-" + _r(rng, ALNUM, 48)
    add("openai-key", sk, f'client = OpenAI(api_key="{sk}")')
    skp = "s" + "k-proj-" + _r(rng, ALNUM + "_-", 156)
    add("openai-key", skp, f'OPENAI_API_KEY = "{skp}"')
    ant = "s" + "k-ant-api03-" + _r(rng, ALNUM + "_-", 93) + "AA"
    add("anthropic-key", ant, f"anthropic.Anthropic(api_key='{ant}')")
    hf = "h" + "f_" + _r(rng, ALNUM, 34)
    add("huggingface-token", hf, f'login(token="{hf}")')
    for n in (32, 40, 24):
        dapi = "da" + "pi" + _r(rng, HEX, n) + ("-2" if n == 32 else "")
        add("databricks-token", dapi, f"w = WorkspaceClient(host=HOST, token='{dapi}')")
    slack = "xo" + "xb-" + "".join(rng.choice(string.digits) for _ in range(12)) + "-"
    slack += "".join(rng.choice(string.digits) for _ in range(13)) + "-" + _r(rng, ALNUM, 24)
    add("slack-token", slack, f'SlackClient("{slack}")')
    for prefix in ("s" + "k_live_", "r" + "k_live_"):
        stripe = prefix + _r(rng, ALNUM, 99)
        add("stripe-key", stripe, f"stripe.api_key = '{stripe}'")
    header = _b64url({"alg": "HS256", "typ": "JWT"})
    payload = _b64url({"sub": _r(rng, ALNUM, 12), "name": "Demo", "iat": 1516239022})
    jwt = f"{header}.{payload}.{_r(rng, ALNUM + '_-', 43)}"
    add("jwt", jwt, f'AUTH = "Bearer {jwt}"', payload, jwt.rsplit(".", 1)[1])
    pw = _r(rng, ALNUM + "!%*", 18)
    add("password-in-url", pw, f'DB_URL = "postgresql://admin:{pw}@db.internal:5432/app"')
    for name in ("DB_PASSWORD", "client_secret", "SERVICE_TOKEN", "api_key"):
        value = _r(rng, ALNUM + "!#%", 24)
        add("secret-assignment", value, f'{name} = "{value}"')
    return out


def pem_fake(seed: int = 5) -> tuple[str, list[str]]:
    """A whole PEM private key (its own lines) and the body lines that must vanish."""
    return pem_block(random.Random(seed))


def gcp_service_account(seed: int = 7) -> tuple[str, list[str]]:
    """A GCP service-account JSON file, pretty-printed as Google writes it."""
    rng = random.Random(seed)
    block, body = pem_block(rng, "PRIVATE KEY")
    doc = {
        "type": "service_account",
        "project_id": "demo-project",
        "private_key_id": _r(rng, HEX, 40),
        "private_key": block + "\n",
        "client_email": "svc@demo-project.iam.gserviceaccount.com",
        "client_id": "1" + "".join(rng.choice(string.digits) for _ in range(20)),
    }
    return json.dumps(doc, indent=2) + "\n", body
