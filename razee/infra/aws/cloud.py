"""The `aws` provider: a customer cluster's workers are EC2 instances, one per worker, found by their tags.

A cluster is recorded as a launch template named `razee-<fleet>-<cluster>`, tagged with its fleet, spoke, cluster
and master version; its workers are instances tagged with fleet, spoke, cluster, pool, zone, worker name, flavor,
version, disk encryption and the token of the change that created them (razee.infra.aws.tags). Observing is
three paginated Describe calls, whatever the fleet's size.

Creating is made safe by tags, not by trusting `ClientToken` alone (emulators ignore it). Every instance carries the
token of the change that made it. Before RunInstances the provider looks for that token: among the instances the
pass observed, and, when this process already sent the request once (a retry after a lost answer), with a
DescribeInstances by the token tag. The token also goes in ClientToken, which real AWS honours even while
DescribeInstances lags. A crash between the look and the create leaves nothing; a crash after the create leaves a
tagged instance that the next pass observes and counts, so it is never made twice.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Iterator
from typing import Any

import boto3
from botocore.config import Config

from razee.infra.aws.errors import Scrubber, call
from razee.infra.aws.launch import run_request, template_name, template_request, worker_tags
from razee.infra.aws.settings import AwsSettings, aws_region, check_coverage
from razee.infra.aws.tags import LIVE_STATES, P, Record, tags_of, worker_of
from razee.infra.changes import InfraAction, InfraChange
from razee.infra.model import ActualCluster, Worker
from razee.infra.provider import ProviderContext, ProviderError

log = logging.getLogger(__name__)


class AwsCloud:
    name = "aws"

    def __init__(self, settings: AwsSettings, context: ProviderContext) -> None:
        check_coverage(settings, context)
        self.s = settings
        self.fleet = context.fleet
        session = boto3.session.Session(region_name=aws_region(settings, context))
        creds = session.get_credentials()
        frozen = creds.get_frozen_credentials() if creds is not None else None
        self.scrub = Scrubber([frozen.secret_key, frozen.token] if frozen else [])
        common: dict[str, Any] = {"connect_timeout": 10, "read_timeout": 60, "user_agent_extra": "razee"}
        # reads may retry inside the SDK; writes fail fast so the executor's backoff is the only retry loop
        self.read = session.client(
            "ec2",
            endpoint_url=settings.endpoint_url,
            config=Config(retries={"mode": "standard", "total_max_attempts": 5}, **common),
        )
        self.write = session.client(
            "ec2",
            endpoint_url=settings.endpoint_url,
            config=Config(retries={"mode": "standard", "total_max_attempts": 1}, **common),
        )
        self.lock = threading.Lock()
        self.records: dict[str, Record] = {}  # cluster -> its launch template, as last seen
        self.instances: dict[str, dict[str, str]] = {}  # instance id -> tags, of workers observed as ours
        self.tokens: dict[str, str] = {}  # change token -> the instance it made, as observed
        self.sent: set[str] = set()  # tokens this process sent a RunInstances for
        self.observed = False  # once observed, a cluster missing from `records` has no template (or a new one
        # made since, which CreateLaunchTemplate then reports as existing)

    def close(self) -> None:
        self.read.close()
        self.write.close()

    # -- observing ------------------------------------------------------------------------------------------
    def _pages(self, operation: str, key: str, **kwargs: Any) -> Iterator[dict[str, Any]]:
        paginator = self.read.get_paginator(operation)
        pages = paginator.paginate(PaginationConfig={"PageSize": self.s.page_size}, **kwargs)
        iterator = iter(pages)
        while True:  # each page is a request of its own, and may fail like any other
            page: dict[str, Any] | None = call(self.scrub, operation, lambda: next(iterator, None))
            if page is None:
                return
            yield from page.get(key, [])

    def _template_name(self, cluster: str) -> str:
        return template_name(self.fleet, cluster)

    def _observe_records(self) -> dict[str, Record]:
        found: dict[str, Record] = {}
        templates = self._pages(
            "describe_launch_templates", "LaunchTemplates", Filters=[{"Name": f"tag:{P}fleet", "Values": [self.fleet]}]
        )
        by_id = {}
        for t in templates:
            tags = tags_of(t.get("Tags"))
            if tags.get(f"{P}cluster") and t["LaunchTemplateName"] == self._template_name(tags[f"{P}cluster"]):
                by_id[t["LaunchTemplateId"]] = Record(
                    t["LaunchTemplateId"], tags.get(f"{P}spoke", ""), tags.get(f"{P}version", "")
                )
                found[tags[f"{P}cluster"]] = by_id[t["LaunchTemplateId"]]
        if by_id:  # the master version changes after creation; DescribeTags has its current value
            for tag in self._pages(
                "describe_tags",
                "Tags",
                Filters=[
                    {"Name": "resource-type", "Values": ["launch-template"]},
                    {"Name": "key", "Values": [f"{P}version"]},
                ],
            ):
                if tag["ResourceId"] in by_id:
                    by_id[tag["ResourceId"]].version = tag["Value"]
        return found

    def _observe_instances(self, owner: str, cluster: str | None = None) -> list[dict[str, Any]]:
        filters = [
            {"Name": f"tag:{P}fleet", "Values": [self.fleet]},
            {"Name": f"tag:{P}spoke", "Values": [owner]},
            {"Name": "instance-state-name", "Values": LIVE_STATES},
        ]
        if cluster:
            filters.append({"Name": f"tag:{P}cluster", "Values": [cluster]})
        return [i for r in self._pages("describe_instances", "Reservations", Filters=filters) for i in r["Instances"]]

    def observe(self, clusters: list[str], owner: str) -> list[ActualCluster]:
        records = self._observe_records()
        instances = self._observe_instances(owner)
        workers: dict[str, list[Worker]] = {}
        with self.lock:
            self.records = dict(records)
            self.observed = True
            for i in instances:
                tags = tags_of(i.get("Tags"))
                self.instances[i["InstanceId"]] = tags
                if tags.get(f"{P}token"):
                    self.tokens[tags[f"{P}token"]] = i["InstanceId"]
                workers.setdefault(tags.get(f"{P}cluster", ""), []).append(worker_of(i, self.s.flavors))
        wanted = set(clusters)
        out = [
            ActualCluster(name, r.spoke, r.version, "normal", tuple(workers.get(name, ())))
            for name, r in records.items()
            if r.spoke == owner or name in wanted
        ]
        # workers whose cluster record is gone (deleted by hand) still belong to the spoke: keep them visible
        out += [
            ActualCluster(name, owner, min(w.version for w in ws), "orphaned", tuple(ws))
            for name, ws in workers.items()
            if name and name not in records
        ]
        return sorted(out, key=lambda c: c.name)

    # -- changing -------------------------------------------------------------------------------------------
    def apply(self, change: InfraChange, owner: str) -> str:
        if change.action == InfraAction.CREATE_CLUSTER:
            return self._create_cluster(change, owner)
        if change.action == InfraAction.DELETE_CLUSTER:
            return self._delete_cluster(change, owner)
        if change.action == InfraAction.UPGRADE_MASTER:
            record = self._own_record(change.cluster, owner)
            call(
                self.scrub,
                f"tag {record.id} with version {change.version}",
                self.write.create_tags,
                Resources=[record.id],
                Tags=[{"Key": f"{P}version", "Value": str(change.version)}],
            )
            return record.id
        if change.action == InfraAction.CREATE_WORKER:
            return self._create_worker(change, owner)
        if change.action == InfraAction.DELETE_WORKER:
            return self._delete_worker(change, owner)
        if change.action == InfraAction.UPGRADE_WORKER:
            # the node's own bootstrap reads its version tag and upgrades the kubelet; razee records the target
            worker = str(change.worker)
            self._own_instance(worker, change.cluster, owner)
            call(
                self.scrub,
                f"tag {worker} with version {change.version}",
                self.write.create_tags,
                Resources=[worker],
                Tags=[{"Key": f"{P}version", "Value": str(change.version)}],
            )
            return worker
        raise ProviderError(f"aws provider: unknown change {change.action}")

    def _find_record(self, cluster: str, refresh: bool = False) -> Record | None:
        with self.lock:
            if cluster in self.records or (self.observed and not refresh):
                return self.records.get(cluster)
        try:
            found = call(
                self.scrub,
                "describe_launch_templates",
                self.read.describe_launch_templates,
                LaunchTemplateNames=[self._template_name(cluster)],
            )["LaunchTemplates"]
        except ProviderError as e:
            if "InvalidLaunchTemplateName.NotFoundException" in e.message:
                return None
            raise
        if not found:
            return None
        tags = tags_of(found[0].get("Tags"))
        record = Record(found[0]["LaunchTemplateId"], tags.get(f"{P}spoke", ""), tags.get(f"{P}version", ""))
        with self.lock:
            self.records[cluster] = record
        return record

    def _own_record(self, cluster: str, owner: str) -> Record:
        record = self._find_record(cluster)
        if record is None:
            raise ProviderError(f"aws: cluster {cluster} has no launch template {self._template_name(cluster)}")
        if record.spoke != owner:
            raise ProviderError(f"aws: cluster {cluster} belongs to {record.spoke}, not {owner}")
        return record

    def _create_cluster(self, change: InfraChange, owner: str) -> str:
        record = self._find_record(change.cluster)
        if record is not None:
            if record.spoke != owner:
                raise ProviderError(f"aws: cluster {change.cluster} belongs to {record.spoke}, not {owner}")
            return record.id
        request = template_request(self.s, self.fleet, owner, change)
        try:
            made = call(
                self.scrub, f"create launch template for {change.cluster}", self.write.create_launch_template, **request
            )
        except ProviderError as e:
            if "AlreadyExists" not in e.message:
                raise
            with self.lock:
                self.records.pop(change.cluster, None)
            record = self._find_record(change.cluster, refresh=True)  # made by our earlier, unanswered attempt?
            if record is None or record.spoke != owner:
                raise ProviderError(
                    f"aws: cluster {change.cluster} has a launch template of "
                    f"{record.spoke if record else 'someone else'}, not {owner}"
                ) from None
            return record.id
        record = Record(made["LaunchTemplate"]["LaunchTemplateId"], owner, str(change.version))
        with self.lock:
            self.records[change.cluster] = record
        return record.id

    def _delete_cluster(self, change: InfraChange, owner: str) -> str:
        record = self._find_record(change.cluster)
        if record is not None and record.spoke != owner:
            raise ProviderError(f"aws: cluster {change.cluster} belongs to {record.spoke}, not {owner}")
        ids = [
            i["InstanceId"]
            for i in self._observe_instances(owner, change.cluster)
            if i["State"]["Name"] not in ("shutting-down", "terminated")
        ]
        for n in range(0, len(ids), 500):  # instances first: a crash leaves the record, and the next pass resumes
            call(
                self.scrub,
                f"terminate {len(ids[n : n + 500])} workers of {change.cluster}",
                self.write.terminate_instances,
                InstanceIds=ids[n : n + 500],
            )
        if record is not None:
            try:
                call(
                    self.scrub,
                    f"delete launch template of {change.cluster}",
                    self.write.delete_launch_template,
                    LaunchTemplateId=record.id,
                )
            except ProviderError as e:
                if "NotFound" not in e.message:
                    raise
        with self.lock:
            self.records.pop(change.cluster, None)
        return record.id if record else change.cluster

    def _create_worker(self, change: InfraChange, owner: str) -> str:
        self._own_record(change.cluster, owner)
        made_before = self._made_before(change)
        if made_before:
            return made_before
        tags = worker_tags(self.fleet, owner, change)
        made = call(
            self.scrub,
            f"run instance for {change.cluster}/{change.pool} in {change.zone}",
            self.write.run_instances,
            **run_request(self.s, self.fleet, change, tags),
        )
        instance_id = str(made["Instances"][0]["InstanceId"])
        log.debug("aws: %s is worker %s of %s", instance_id, tags["Name"], change.cluster)
        with self.lock:
            self.instances[instance_id] = tags
            self.tokens[change.token] = instance_id
        return instance_id

    def _made_before(self, change: InfraChange) -> str | None:
        """The instance this change already made, if any: observed with its token, or, when this process sent
        the request before and lost the answer, found by a DescribeInstances on the token tag."""
        with self.lock:
            made_before, retry = self.tokens.get(change.token), change.token in self.sent
            self.sent.add(change.token)
        if made_before or not retry:
            return made_before
        existing = self._pages(
            "describe_instances",
            "Reservations",
            Filters=[
                {"Name": f"tag:{P}fleet", "Values": [self.fleet]},
                {"Name": f"tag:{P}token", "Values": [change.token]},
                {"Name": "instance-state-name", "Values": LIVE_STATES},
            ],
        )
        for reservation in existing:
            for instance in reservation["Instances"]:
                return str(instance["InstanceId"])
        return None

    def _own_instance(self, instance_id: str, cluster: str, owner: str) -> dict[str, str] | None:
        """The instance's tags if it exists and is this spoke's worker of `cluster`; None when it is gone."""
        with self.lock:
            tags = self.instances.get(instance_id)
        if tags is None:
            try:
                found = call(
                    self.scrub, f"describe {instance_id}", self.read.describe_instances, InstanceIds=[instance_id]
                )
            except ProviderError as e:
                if "InvalidInstanceID.NotFound" in e.message:
                    return None
                raise
            instances = [i for r in found["Reservations"] for i in r["Instances"] if i["State"]["Name"] != "terminated"]
            if not instances:
                return None
            tags = tags_of(instances[0].get("Tags"))
        if (tags.get(f"{P}fleet"), tags.get(f"{P}spoke"), tags.get(f"{P}cluster")) != (self.fleet, owner, cluster):
            raise ProviderError(f"aws: instance {instance_id} is not a worker of {cluster} on {owner}; not touching it")
        return tags

    def _delete_worker(self, change: InfraChange, owner: str) -> str:
        worker = str(change.worker)
        if self._own_instance(worker, change.cluster, owner) is None:
            return worker  # already gone: deleting is idempotent
        try:
            call(self.scrub, f"terminate {worker}", self.write.terminate_instances, InstanceIds=[worker])
        except ProviderError as e:
            if "InvalidInstanceID.NotFound" not in e.message:
                raise
        return worker
