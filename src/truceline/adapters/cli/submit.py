"""Send a witness's cosignature to the log's API (`record witness --submit URL`).

The witness works from the published tiles alone; this is its only contact with the log's
server, one ``POST /record/cosignatures``. A refusal comes back as the API's error envelope
and is raised as the same kind of error, with the server's field and reason, so the CLI
prints one line and exits with the table's code, and the witness's state does not advance.
"""

from __future__ import annotations

import json
import urllib.error
import urllib.request

from truceline.errors import (
    ConflictError,
    IntegrityError,
    NotFoundError,
    SignatureError,
    TrucelineError,
    ValidationError,
)

#: The error raised for each code the API's envelope gives a refused cosignature.
_BY_CODE: dict[str, type[TrucelineError]] = {
    c.code: c for c in (SignatureError, NotFoundError, ConflictError, IntegrityError)
}


def post_cosignature(url: str, size: int, line: str, timeout_s: float = 30.0) -> str:
    """POST the cosignature of checkpoint ``size``; a one-line summary of the quorum."""
    if not url.startswith(("http://", "https://")):
        raise ValidationError("must be an http:// or https:// URL", field="submit")
    body = json.dumps({"size": size, "cosignature": line}).encode()
    req = urllib.request.Request(
        url.rstrip("/") + "/record/cosignatures",
        data=body,
        headers={"Content-Type": "application/json"},
        method="POST",
    )
    try:
        with urllib.request.urlopen(req, timeout=timeout_s) as resp:
            doc = json.loads(resp.read())
    except urllib.error.HTTPError as e:
        try:
            err = json.loads(e.read())
            message, field, code = str(err["message"]), err.get("field"), err.get("code")
        except (ValueError, KeyError, TypeError):
            message, field, code = f"HTTP {e.code}", "submit", None
        cls = _BY_CODE.get(str(code), ValidationError)
        raise cls(f"the log refused the cosignature: {message}", field=field) from None
    except (urllib.error.URLError, OSError) as e:
        raise ValidationError(
            f"cannot reach {url}: {getattr(e, 'reason', e)}", field="submit"
        ) from None
    parties = ", ".join(doc.get("cosigned_by", [])) or "none"
    state = "final (quorum reached)" if doc.get("final") else "not final yet"
    return f"submitted: checkpoint {size} cosigned by {parties}; {state}"
