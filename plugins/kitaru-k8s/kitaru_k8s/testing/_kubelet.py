"""The fake cluster's job controller + kubelet: each Job's container command runs as a real local process."""

from __future__ import annotations

import fnmatch
import os
import secrets
import signal
import subprocess
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from kitaru.testing._forked import forked_container
from kitaru_k8s.testing._api import decode_secret
from kitaru_k8s.testing._store import now_rfc3339

if TYPE_CHECKING:
    from kitaru_k8s.testing import FakeCluster


class _Stop(Exception):
    """The Job was deleted, or the cluster shut down."""


class _Deadline(Exception):
    """activeDeadlineSeconds passed."""


class _Missing(Exception):
    """A Secret the pod needs does not exist (yet)."""


@dataclass
class PodRun:
    """One pod of one Job and its local process."""

    namespace: str
    job: dict[str, Any]
    name: str
    sandbox: Path
    stop: threading.Event = field(default_factory=threading.Event)
    proc: subprocess.Popen[bytes] | None = None
    kill_reason: str | None = None  # "OOMKilled" / "Evicted"
    spawned_at: float | None = None  # time.time() when the container's process was started
    thread: threading.Thread | None = None

    @property
    def log_path(self) -> Path:
        return self.sandbox / "log"


class Kubelet:
    """Runs pods: schedules (maybe slowly), pulls (maybe failing), starts the process, reports its end."""

    def __init__(self, cluster: FakeCluster) -> None:
        self.cluster, self.store = cluster, cluster.store
        self.pods: dict[tuple[str, str], PodRun] = {}  # (namespace, job name) -> pod
        self.lock = threading.Lock()

    def start(self, namespace: str, job: dict[str, Any]) -> None:
        """The job controller's part: one pod per Job (backoffLimit 0), run by a thread."""
        name = f"{job['metadata']['name']}-{secrets.token_hex(3)[:5]}"
        run = PodRun(namespace, job, name, self.cluster.root / namespace / name)
        run.sandbox.mkdir(parents=True)
        run.log_path.touch()
        with self.lock:
            self.pods[(namespace, job["metadata"]["name"])] = run
        run.thread = threading.Thread(target=self._run, args=(run,), name=f"fake-kubelet-{name}", daemon=True)
        run.thread.start()

    # -- the pod's life ------------------------------------------------------------------------------------------
    def _run(self, run: PodRun) -> None:
        spec = run.job["spec"]["template"]["spec"]
        container = spec["containers"][0]
        deadline = spec_deadline(run.job)
        self._create_pod(run)
        try:
            self._wait_for_capacity(run, deadline)
            self._pod(run, lambda p: _set_condition(p, "PodScheduled", "True"))
            self._waiting(run, "ContainerCreating", "")
            self._pull(run, container["image"], deadline)
            env, args, cwd = self._prepare(run, spec, container, deadline)
            self._execute(run, container, env, args, cwd, deadline)
        except _Deadline:
            self._kill(run)
            self._finish(run, exit_code=137, reason="DeadlineExceeded", pod_reason=(
                "DeadlineExceeded", "Pod was active on the node longer than the specified deadline"),
                job_reason=("DeadlineExceeded", "Job was active longer than specified deadline"))
        except _Stop:
            self._kill(run)
        finally:
            self._after(run)

    def _pull(self, run: PodRun, image: str, deadline: float | None) -> None:
        self.cluster.event(run.namespace, run.name, "Normal", "Pulling", f'Pulling image "{image}"')
        if any(fnmatch.fnmatch(image, pattern) for pattern in self.cluster.image_pull_failures):
            msg = f'failed to pull and unpack image "{image}": not found'
            self._waiting(run, "ErrImagePull", msg)
            self.cluster.event(run.namespace, run.name, "Warning", "Failed", f"Failed to pull image: {msg}")
            self._sleep(run, 0.2, deadline)
            self._waiting(run, "ImagePullBackOff", f'Back-off pulling image "{image}"')
            self.cluster.event(run.namespace, run.name, "Normal", "BackOff", f'Back-off pulling image "{image}"')
            while True:
                self._sleep(run, 0.1, deadline)
        self.cluster.event(run.namespace, run.name, "Normal", "Pulled", f'Successfully pulled image "{image}"')

    def _prepare(self, run: PodRun, spec: dict[str, Any], container: dict[str, Any],
                 deadline: float | None) -> tuple[dict[str, str], list[str], str]:
        """Env (envFrom, then env), volumes as files in the sandbox; waits while a Secret is missing."""
        while True:
            try:
                mounts = self._volumes(run, spec, container)
                env = self._env(run, container)
                break
            except _Missing as missing:
                self._waiting(run, "CreateContainerConfigError", str(missing))
                self._sleep(run, 0.05, deadline)

        def mapped(value: str) -> str:
            for mount_path, local in mounts:
                if value == mount_path or value.startswith(mount_path.rstrip("/") + "/"):
                    return str(local) + value[len(mount_path.rstrip("/")):]
            return value

        args = [mapped(a) for a in [*(container.get("command") or []), *(container.get("args") or [])]]
        base = {"PATH": os.environ.get("PATH", "/usr/bin:/bin"), "HOME": str(run.sandbox), "LANG": "C.UTF-8",
                "HOSTNAME": run.name, **self.cluster.base_env}
        cwd = mapped(container["workingDir"]) if container.get("workingDir") else str(run.sandbox)
        return {**base, **{k: mapped(v) for k, v in env.items()}}, args, cwd

    def _volumes(self, run: PodRun, spec: dict[str, Any], container: dict[str, Any]) -> list[tuple[str, Path]]:
        volumes = {v["name"]: v for v in spec.get("volumes") or []}
        mounts: list[tuple[str, Path]] = []
        for mount in container.get("volumeMounts") or []:
            volume = volumes[mount["name"]]
            local = run.sandbox / "fs" / mount["mountPath"].lstrip("/")
            local.mkdir(parents=True, exist_ok=True)
            if "secret" in volume:
                data = self._secret(run.namespace, volume["secret"]["secretName"], volume["secret"].get("optional"))
                items = volume["secret"].get("items") or [{"key": k, "path": k} for k in data]
                for item in items:
                    target = local / item["path"]
                    target.parent.mkdir(parents=True, exist_ok=True)
                    target.write_text(data[item["key"]])
            mounts.append((mount["mountPath"], local))
        return sorted(mounts, key=lambda m: -len(m[0]))

    def _env(self, run: PodRun, container: dict[str, Any]) -> dict[str, str]:
        env: dict[str, str] = {}
        for source in container.get("envFrom") or []:
            ref = source.get("secretRef")
            if ref:
                data = self._secret(run.namespace, ref["name"], ref.get("optional"))
                env.update({source.get("prefix", "") + k: v for k, v in data.items()})
        for var in container.get("env") or []:
            ref = (var.get("valueFrom") or {}).get("secretKeyRef")
            if ref:
                data = self._secret(run.namespace, ref["name"], ref.get("optional"))
                if ref["key"] in data:
                    env[var["name"]] = data[ref["key"]]
                elif not ref.get("optional"):
                    raise _Missing(f"couldn't find key {ref['key']} in Secret {run.namespace}/{ref['name']}")
            else:
                env[var["name"]] = var.get("value", "")
        return env

    def _secret(self, namespace: str, name: str, optional: bool | None) -> dict[str, str]:
        secret = self.store.get("Secret", namespace, name)
        if secret is None:
            if optional:
                return {}
            raise _Missing(f'secret "{name}" not found')
        return decode_secret(secret)

    def _execute(self, run: PodRun, container: dict[str, Any], env: dict[str, str], args: list[str], cwd: str,
                 deadline: float | None) -> None:
        started = now_rfc3339()
        with open(run.log_path, "ab") as log:
            try:
                run.spawned_at = time.time()
                args, env = forked_container(args, env)  # a `python -m` container forks from the test zygote
                run.proc = subprocess.Popen(args, env=env, cwd=cwd, stdin=subprocess.DEVNULL, stdout=log,
                                            stderr=subprocess.STDOUT, start_new_session=True)
            except OSError as exc:
                log.write(f"exec failed: {exc}\n".encode())
                self._finish(run, exit_code=128, reason="StartError", message=str(exc))
                return
        self.cluster.event(run.namespace, run.name, "Normal", "Started", f"Started container {container['name']}")
        self._pod(run, lambda p: _running(p, started))
        oom_at = self._oom_at(container)
        while run.proc.poll() is None:
            if oom_at is not None and time.monotonic() >= oom_at:
                run.kill_reason = "OOMKilled"
                self._kill(run, graceful=False)
                break
            if run.kill_reason == "Evicted":
                self._kill(run, graceful=False)
                break
            try:
                self._sleep(run, 0.02, deadline)
            except _Stop:
                self._kill(run)
                return
        code = run.proc.wait()
        if run.kill_reason == "OOMKilled":
            self._finish(run, exit_code=137, reason="OOMKilled")
        elif run.kill_reason == "Evicted":
            self._finish(run, exit_code=137, reason="Error", pod_reason=("Evicted", "The node was low on resource:"
                                                                         " memory."))
        else:
            exit_code = code if code >= 0 else 128 - code
            self._finish(run, exit_code=exit_code, reason="Completed" if exit_code == 0 else "Error")

    def _oom_at(self, container: dict[str, Any]) -> float | None:
        for pattern, after in self.cluster.oom_kills:
            if fnmatch.fnmatch(container["image"], pattern):
                return time.monotonic() + after
        return None

    # -- status ------------------------------------------------------------------------------------------------
    def _create_pod(self, run: PodRun) -> None:
        job = run.job
        meta, template = job["metadata"], job["spec"]["template"]
        labels = {**(template.get("metadata") or {}).get("labels", {}), "job-name": meta["name"],
                  "batch.kubernetes.io/job-name": meta["name"], "controller-uid": meta["uid"],
                  "batch.kubernetes.io/controller-uid": meta["uid"]}
        scheduled = "False" if self.cluster.schedule_delay > 0 else "True"
        pod = {"apiVersion": "v1", "kind": "Pod",
               "metadata": {"name": run.name, "labels": labels,
                            "annotations": (template.get("metadata") or {}).get("annotations", {}),
                            "ownerReferences": [{"apiVersion": "batch/v1", "kind": "Job", "name": meta["name"],
                                                 "uid": meta["uid"], "controller": True,
                                                 "blockOwnerDeletion": True}]},
               "spec": template["spec"],
               "status": {"phase": "Pending", "conditions": [
                   {"type": "PodScheduled", "status": scheduled,
                    **({"reason": "Unschedulable", "message": "0/3 nodes are available: waiting for capacity"}
                       if scheduled == "False" else {})}]}}
        self.store.create("Pod", run.namespace, pod)
        self.store.update("Job", run.namespace, meta["name"],
                          lambda j: j.setdefault("status", {}).update(active=1, startTime=now_rfc3339()))

    def _pod(self, run: PodRun, change: Any) -> None:
        self.store.update("Pod", run.namespace, run.name, change)

    def _waiting(self, run: PodRun, reason: str, message: str) -> None:
        image = run.job["spec"]["template"]["spec"]["containers"][0]["image"]
        name = run.job["spec"]["template"]["spec"]["containers"][0]["name"]
        state = {"waiting": {"reason": reason, **({"message": message} if message else {})}}
        self._pod(run, lambda p: p["status"].update(containerStatuses=[
            {"name": name, "image": image, "imageID": "", "ready": False, "restartCount": 0, "started": False,
             "state": state}]))

    def _finish(self, run: PodRun, *, exit_code: int, reason: str, message: str | None = None,
                pod_reason: tuple[str, str] | None = None, job_reason: tuple[str, str] | None = None) -> None:
        now = now_rfc3339()
        terminated = {"exitCode": exit_code, "reason": reason, "finishedAt": now,
                      **({"message": message} if message else {})}

        def pod_done(p: dict[str, Any]) -> None:
            st = p["status"]
            st["phase"] = "Succeeded" if exit_code == 0 and not pod_reason else "Failed"
            if pod_reason:
                st["reason"], st["message"] = pod_reason
            for cs in st.get("containerStatuses") or []:
                cs.update(ready=False, started=False, state={"terminated": terminated})

        def job_done(j: dict[str, Any]) -> None:
            st = j.setdefault("status", {})
            st.pop("active", None)
            ok = exit_code == 0 and not pod_reason and not job_reason
            st["succeeded" if ok else "failed"] = 1
            if ok:
                st["completionTime"] = now
                cond = {"type": "Complete", "status": "True"}
            else:
                why, text = job_reason or ("BackoffLimitExceeded", "Job has reached the specified backoff limit")
                cond = {"type": "Failed", "status": "True", "reason": why, "message": text}
            st["conditions"] = [{**cond, "lastProbeTime": now, "lastTransitionTime": now}]

        self._pod(run, pod_done)
        self.store.update("Job", run.namespace, run.job["metadata"]["name"], job_done)

    def _after(self, run: PodRun) -> None:
        """ttlSecondsAfterFinished: the finished Job (and what it owns) goes away after that many seconds."""
        ttl = run.job["spec"].get("ttlSecondsAfterFinished")
        if ttl is None or run.stop.is_set():
            return
        if not run.stop.wait(ttl):
            self.cluster.delete_job(run.namespace, run.job["metadata"]["name"], "Background")

    # -- control -----------------------------------------------------------------------------------------------
    def _wait_for_capacity(self, run: PodRun, deadline: float | None) -> None:
        """Stay Unschedulable until `cluster.schedule_delay` seconds have passed, re-read on every tick:
        a test sets it high, sees the pod pending, then sets it to 0 (capacity arrives) whatever the load."""
        created = time.monotonic()
        while time.monotonic() - created < self.cluster.schedule_delay:
            self._sleep(run, 0.05, deadline)

    def _sleep(self, run: PodRun, seconds: float, deadline: float | None) -> None:
        end = time.monotonic() + seconds
        while True:
            if deadline is not None and time.monotonic() >= deadline:
                raise _Deadline
            left = end - time.monotonic()
            if left <= 0:
                return
            if run.stop.wait(min(left, 0.05)):
                raise _Stop

    def _kill(self, run: PodRun, graceful: bool = True) -> None:
        """SIGTERM the process group, SIGKILL after the grace period."""
        proc = run.proc
        if proc is None or proc.poll() is not None:
            return
        try:
            os.killpg(proc.pid, signal.SIGTERM if graceful else signal.SIGKILL)
            proc.wait(timeout=self.cluster.grace_period if graceful else 5)
        except subprocess.TimeoutExpired:
            os.killpg(proc.pid, signal.SIGKILL)
            proc.wait(timeout=5)
        except ProcessLookupError:
            pass

    def stop(self, namespace: str, job: str, wait: bool) -> None:
        """Stop a Job's pod (its process is killed); `wait`: until it is dead."""
        with self.lock:
            run = self.pods.pop((namespace, job), None)
        if run is None:
            return
        run.stop.set()
        if wait and run.thread is not None and run.thread is not threading.current_thread():
            run.thread.join(timeout=self.cluster.grace_period + 10)

    def evict(self, namespace: str, job: str) -> None:
        """Evict the Job's running pod (node pressure): the process is killed and the pod fails `Evicted`."""
        with self.lock:
            run = self.pods.get((namespace, job))
        if run is not None:
            run.kill_reason = "Evicted"

    def running(self, namespace: str, job: str) -> subprocess.Popen[bytes] | None:
        """The Job's local process (None before it starts)."""
        with self.lock:
            run = self.pods.get((namespace, job))
        return run.proc if run else None

    def spawned_at(self, namespace: str, job: str) -> float | None:
        """When the Job's process was started (time.time()), or None before it starts."""
        with self.lock:
            run = self.pods.get((namespace, job))
        return run.spawned_at if run else None

    def shutdown(self) -> None:
        """Kill every pod process."""
        with self.lock:
            keys = list(self.pods)
        for ns, job in keys:
            self.stop(ns, job, wait=True)


def spec_deadline(job: dict[str, Any]) -> float | None:
    seconds = job["spec"].get("activeDeadlineSeconds")
    return time.monotonic() + seconds if seconds else None


def _set_condition(pod: dict[str, Any], kind: str, status: str) -> None:
    pod["status"]["conditions"] = [c for c in pod["status"].get("conditions", []) if c["type"] != kind] + [
        {"type": kind, "status": status}]


def _running(pod: dict[str, Any], started: str) -> None:
    pod["status"]["phase"] = "Running"
    pod["status"]["startTime"] = started
    for cs in pod["status"].get("containerStatuses") or []:
        cs.update(ready=True, started=True, state={"running": {"startedAt": started}})
