"""Fixtures of the unit tests: boto3 clients under botocore's Stubber."""

from collections.abc import Callable, Iterator
from contextlib import ExitStack
from typing import Any

import boto3
import pytest
from botocore.stub import Stubber

Stubbed = Callable[[str], tuple[Any, Stubber]]


@pytest.fixture
def stubbed() -> Iterator[Stubbed]:
    """A client of the named service and its Stubber, which checks each request against the service
    model; every response the test queued must have been asked for."""
    with ExitStack() as stack:
        stubbers: list[Stubber] = []

        def stub(service: str) -> tuple[Any, Stubber]:
            client = boto3.client(service, region_name="us-east-1")
            stubbers.append(stack.enter_context(Stubber(client)))
            return client, stubbers[-1]

        yield stub
        for stubber in stubbers:
            stubber.assert_no_pending_responses()
