"""Options of the commands that talk to a cluster."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, TypeVar

import click

F = TypeVar("F", bound=Callable[..., Any])


def cluster_options(f: F) -> F:
    f = click.option("--context", default=None, metavar="NAME", help="kubeconfig context to use.")(f)
    f = click.option("--kubeconfig", default=None, metavar="FILE",
                     help="kubeconfig file. Default: in-cluster config, else $KUBECONFIG or ~/.kube/config.")(f)
    f = click.option("--spoke", required=True, metavar="NAME", help="The spoke whose desired state to reconcile.")(f)
    return f
