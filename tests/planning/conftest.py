"""The March 2025 line compiled once for the planning tests."""

from __future__ import annotations

import numpy as np
import pytest

from truceline.adapters.agreement_files import load_agreement_file
from truceline.services.context import AgreementContext, context_for_doc


@pytest.fixture(scope="session")
def march() -> AgreementContext:
    _, doc = load_agreement_file("march2025")
    return context_for_doc(doc)


@pytest.fixture(scope="session")
def when(march: AgreementContext) -> np.datetime64:
    return np.datetime64(march.agreement.entry_into_force_at.replace(tzinfo=None), "s")
