"""The one transform every entry point runs: a rendered Dagster release plus locations in, the
merged release out. Pure: text and data in, text out, errors raised; no I/O.
"""

from __future__ import annotations

from typing import AbstractSet, Dict, List, NamedTuple, Optional, Sequence, Set, Tuple

from ...base import constants as c
from ...base import errors
from ..policy import document
from ..spec import locations as locs
from ..spec import schema
from . import branchhold, hook, isolation, manifests, objects, releasebase, workspace
from . import release as rel


class Options(NamedTuple):
    release: Optional[str] = None
    namespace: Optional[str] = None
    rollout: Optional[str] = None  # None: reload when the stream has a writable webserver, else none
    on_conflict: str = "error"
    mode: str = "auto"
    hook_script: str = ""  # the reload hook's Python source (the text of kubectl_dagster/shells/reloadhook.py)
    branch_hook: str = ""  # branch locations' sitecustomize (the text of kubectl_dagster/shells/branchhook.py)
    reload_nudge: bool = True  # the hook updates the webserver and daemon pods so the kubelet syncs at once
    locations_given: bool = False  # a locations source was read (maybe empty): removing the last one reloads too
    isolated: AbstractSet[str] = frozenset()  # registry locations: left out when they cannot be rendered
    policy: Optional[document.Policy] = None  # what isolated locations must satisfy (None: the default)


class Result(NamedTuple):
    text: str
    added: List[str]  # location names merged in
    mode: str
    release: str
    hook: Optional[str] = None  # the reload hook Job's name, when one was added
    notes: Tuple[str, ...] = ()  # one line each, for stderr: what the user should know about this render
    left_out: Tuple[Tuple[str, str], ...] = ()  # (name, reason) of each isolated location left out


DEFAULT_OPTIONS = Options()


def render(text: str, locations: Sequence[locs.Location], options: Options = DEFAULT_OPTIONS) -> Result:
    if not text.strip():
        raise errors.InputError("the input is empty", "pipe in the output of `helm template` (stdin was empty)")
    problems = locs.check_unique(locations)
    if problems:
        raise errors.LocationError(problems)
    stream = manifests.split(text)
    manifests.check(stream)
    if _only_hooks(stream, options.release):
        return Result(text, [], "none", "", None)
    release = rel.find(stream, options.release)
    earlier = bool(release.ours) or (release.workspace is not None and c.WORKSPACE_MARKER in release.workspace.text)
    mode = _mode(release, options.mode)
    left: Dict[str, str] = {}
    ordered = sorted(locations, key=lambda loc: loc.name)
    drop = {id(doc) for doc in release.ours}
    replaced = _conflicts(release, ordered, options, drop, left)
    ordered = [loc for loc in ordered if loc.name not in left]
    created: List[manifests.Document] = []
    if mode in ("full", "objects") and ordered:
        created = _objects(release, ordered, options, stream, drop, left)
    elif ordered and options.isolated:
        _objects(release, ordered, options, stream, drop, left, emit=False)  # the same checks, nothing emitted
    ordered = [loc for loc in ordered if loc.name not in left]
    rollout = options.rollout or c.DEFAULT_ROLLOUT
    if mode in ("full", "workspace"):
        _workspace(release, ordered, replaced, rollout)
    documents = [doc for doc in stream.documents if id(doc) not in drop] + created
    hooks: List[manifests.Document] = []
    if rollout == "reload" and (ordered or earlier or options.locations_given):
        hooks = _reload_hook(release, stream, mode, documents, ordered, options)
    return Result(
        manifests.Stream(documents + hooks, stream.helm_sources).text(),
        [loc.name for loc in ordered],
        mode,
        release.name,
        hooks[-1].name if hooks else None,
        _notes(release, options.mode, mode, ordered),
        tuple(sorted(left.items())),
    )


def _notes(release: rel.Release, wanted: str, mode: str, ordered) -> Tuple[str, ...]:
    """``auto`` chose workspace entries only: say where the code servers have to come from."""
    if wanted != "auto" or mode != "workspace" or not ordered:
        return ()
    return (
        f"note: release {release.name!r} renders no user code of its own, so only workspace entries were added "
        f"for {len(ordered)} location(s); render the user-code release with --mode=objects, or pass --mode=full "
        "to add their Deployments and Services here",
    )


class Inspected(NamedTuple):
    """What ``--from-cluster`` needs to know of the stream before it reads the registry."""

    release: str
    namespace: Optional[str]  # the release's namespace as the stream shows it; None when it does not
    workspace: Optional[str]  # the name of the workspace ConfigMap, when the stream renders it


def inspect(text: str, release_name: Optional[str] = None) -> Inspected:
    """The release, its namespace and its workspace ConfigMap, from the stream (the same checks as a render)."""
    if not text.strip():
        raise errors.InputError("the input is empty", "pipe in the output of `helm template` (stdin was empty)")
    stream = manifests.split(text)
    manifests.check(stream)
    release = rel.find(stream, release_name)
    return Inspected(release.name, _namespace(release), release.workspace.name if release.workspace else None)


def _namespace(release: rel.Release) -> Optional[str]:
    """``metadata.namespace`` where the stream sets it; else the namespace the chart wrote into the
    container context of its user code, or into DAGSTER_K8S_PIPELINE_RUN_NAMESPACE (both .Release.Namespace)."""
    docs = [d for d in [release.workspace, release.template(), *release.rollout_targets] if d is not None]
    for doc in docs:
        if isinstance(doc.meta().get("namespace"), str) and doc.meta()["namespace"]:
            return doc.meta()["namespace"]
    template = release.template()
    if template is not None:
        containers = ((template.data.get("spec") or {}).get("template") or {}).get("spec", {}).get("containers") or []
        context = rel.context_env(containers[0]) if containers else None
        namespace = ((context or {}).get("k8s") or {}).get("namespace")
        if isinstance(namespace, str) and namespace:
            return namespace
    return release.namespace_hint or None


def live_locations(configmaps: Sequence[Dict], inspected: Inspected) -> Set[str]:
    """Locations a previous render put into the live release, from the namespace's ConfigMaps (as the
    API lists them): the entries after our marker in the live workspace ConfigMap, and the env
    ConfigMaps we created (they carry the location label; the registry's own ConfigMaps are skipped)."""
    names: Set[str] = set()
    for item in configmaps:
        metadata = item.get("metadata") or {}
        labels = metadata.get("labels") or {}
        data = item.get("data") or {}
        if metadata.get("name") == inspected.workspace and isinstance(data.get(c.WORKSPACE_KEY), str):
            try:
                _, ours = workspace.split_entries(data[c.WORKSPACE_KEY])
            except errors.InputError:
                ours = []
            names |= {workspace.entry_name(entry) for entry in ours}
        elif (
            labels.get(c.LOCATION_LABEL)
            and labels.get(c.LOCATION_LABEL) != c.SHARED_ENV_LOCATION
            and c.REGISTRY_LABEL not in labels
            and inspected.release in (labels.get(c.LABEL_RELEASE), labels.get(c.LABEL_INSTANCE))
        ):
            names.add(str(labels[c.LOCATION_LABEL]))
    names.discard("")
    return names


def _only_hooks(stream: manifests.Stream, wanted: Optional[str]) -> bool:
    """A stream of Helm hooks alone (Helm 4.2's ``separate`` post-render strategy sends them in a call
    of their own): nothing of a Dagster release nor of ours, so it passes through unchanged."""
    objects = [doc for doc in stream.documents if doc.kind]
    if not objects or any("helm.sh/hook" not in doc.text for doc in objects):  # most streams: decided unparsed
        return False
    if any(not isinstance(doc.data, dict) or "helm.sh/hook" not in doc.annotations() for doc in objects):
        return False
    try:
        rel.find(stream, wanted)
    except errors.ReleaseError:
        return True
    return False


def _mode(release: rel.Release, wanted: str) -> str:
    """``auto``: ``full`` whenever the user-code chart is part of the release (even with no deployments of
    its own), ``workspace`` for the system chart alone, ``objects`` for the user-code chart alone."""
    has_workspace, has_user = release.workspace is not None, release.user is not None
    if wanted == "auto":
        return "full" if has_workspace and has_user else "workspace" if has_workspace else "objects"
    if wanted in ("full", "workspace") and not has_workspace:
        raise errors.ReleaseError(
            f"--mode={wanted} needs the workspace ConfigMap, which release {release.name!r} does not render here",
            "use --mode=objects, or render the system chart",
        )
    return wanted


def _chart_names(release: rel.Release) -> Dict[str, str]:
    """Location names the chart itself renders, with what renders them."""
    names: Dict[str, str] = {}
    if release.user is not None:
        for name in release.user.deployments:
            names[name] = "a user-code Deployment"
    if release.workspace is not None:
        chart_entries, _ = workspace.split_entries(release.workspace.data["data"][c.WORKSPACE_KEY] or "")
        for entry in chart_entries:
            names.setdefault(workspace.entry_name(entry), "a workspace entry")
    return names


def _conflicts(release: rel.Release, ordered, options: Options, drop: Set[int], left: Dict[str, str]) -> Set[str]:
    """Locations the chart renders too: an isolated one is left out (the registry never replaces the chart's);
    another is an error unless --on-conflict=replace, which drops the chart's objects and entry."""
    chart = _chart_names(release)
    for loc in ordered:
        if loc.name in chart and loc.name in options.isolated:
            left[loc.name] = f"the chart already renders location {loc.name} ({chart[loc.name]}); rename the entry"
    clashing = [loc for loc in ordered if loc.name in chart and loc.name not in left]
    if clashing and options.on_conflict != "replace":
        what = ", ".join(f"{loc.name} ({chart[loc.name]})" for loc in clashing)
        raise errors.ChartConflictError(
            f"the chart already renders location(s) {what} in release {release.name!r}",
            "rename the location, remove it from the chart values, or pass --on-conflict=replace",
        )
    names = {loc.name for loc in clashing}
    if release.user is not None and names:
        user = release.user
        fullname = rel.user_fullname(release)
        for name in names:
            for doc in (
                user.deployments.get(name),
                user.services.get(name),
                user.env_maps.get(f"{fullname}-{name}-user-env"),
            ):
                if doc is not None:
                    drop.add(id(doc))
    return names


def _objects(release, ordered, options: Options, stream, drop, left: Dict[str, str], emit: bool = True):
    """The objects of every location, the platform's first so that no registry entry can take a name from
    them; an isolated location with a problem is left out, any other problem is an error."""
    base = _base(release, options, emit)
    taken = _taken_names(stream, drop, base.namespace)
    built: Dict[str, List[manifests.Document]] = {}
    problems: List[errors.Problem] = []
    for location in sorted(ordered, key=lambda loc: (loc.name in options.isolated, loc.name)):
        source = c.SOURCE_TEMPLATE.format(chart=base.source_prefix, location=location.name)
        datas, found = _location_objects(location, base, source, taken, options)
        if found and location.name in options.isolated:
            left[location.name] = isolation.reason([p.message for p in found])
            continue
        problems += found
        taken.update(_key(data, base.namespace) for data in datas)
        built[location.name] = [manifests.new_document(data, source, stream.helm_sources) for data in datas]
    if problems:
        raise errors.LocationError(problems)
    created: List[manifests.Document] = []
    shared = objects.shared_env_configmap(base)
    if built and _key(shared, base.namespace) not in taken:  # the chart renders it whenever its subchart is on
        source = f"{base.source_prefix}/templates/kubectl-dagster/shared-env.yaml"
        shared["metadata"]["annotations"] = {c.HELM4_FILENAME_ANNOTATION: source}
        created.append(manifests.new_document(shared, source, stream.helm_sources))
    return created + [doc for name in sorted(built) for doc in built[name]]


def _base(release: rel.Release, options: Options, emit: bool) -> releasebase.Base:
    """The release-wide settings; for checks alone (workspace mode), the chart's defaults when the stream
    cannot tell them."""
    try:
        return releasebase.base_from(release, options.namespace)
    except errors.InputError:
        if emit:
            raise
        return isolation.neutral_base(options.namespace)


def _location_objects(location, base, source: str, taken, options: Options):
    """(objects, problems) of one location; an isolated one also gets the registry's checks."""
    where = (location.doc,) + location.path

    def problem(message: str, path: tuple = ()) -> errors.Problem:
        return errors.Problem(location.file, None, location.name, message, where + path)

    found = [problem(message, path) for path, message in objects.version_problems(location, base)]
    before = objects.build(location, base, source)
    patched, patch_problems = objects.apply_patches(location, list(before))
    datas, hook_problems = branchhold.hold(patched, location, options.branch_hook)  # ours: after the entry's patches
    found += patch_problems + [problem(message, path) for path, message in hook_problems]
    for data in datas:
        key = _key(data, base.namespace)
        if key in taken:
            found.append(problem(f"{key[0]} {key[2]} already exists in the input; rename the location"))
    if location.name in options.isolated and not found:
        refs = isolation.release_refs(base, location.name)
        found += [problem(m) for m in isolation.findings(location, before, patched, options.policy, refs)]
    return datas, found


def _reload_hook(
    release: rel.Release, stream: manifests.Stream, mode: str, documents, ordered, options: Options
) -> List[manifests.Document]:
    """The hook Job that reloads the webserver, after its ServiceAccount, Role and RoleBinding when it
    nudges the kubelet; none where the stream has no writable webserver (an error only when
    --rollout=reload was asked for explicitly)."""
    url = hook.webserver_url(release, stream) if mode in ("full", "workspace") else None
    if url is None:
        if options.rollout == "reload":
            raise errors.ReleaseError(
                f"--rollout=reload needs the writable webserver's Deployment and Service, which "
                f"release {release.name!r} does not render here",
                "use --rollout=restart or --rollout=none, or run `kubectl dagster reload` after the apply",
            )
        return []
    workspace_source = release.workspace.source or ""
    prefix = workspace_source.split("/templates/")[0] if "/templates/" in workspace_source else "dagster"
    source = f"{prefix}/templates/kubectl-dagster/reload-hook.yaml"
    states = hook.location_states(release, documents, ordered)
    made = hook.rbac(release, source) if options.reload_nudge else []
    made.append(hook.job(release, url, states, options.hook_script, source, options.reload_nudge))
    return [manifests.new_document(data, source, stream.helm_sources) for data in made]


def _key(data, namespace: Optional[str]) -> Tuple[str, str, str]:
    """kind, namespace and name: what Helm and the API server take as one object (no namespace: the release's)."""
    meta = data.get("metadata") or {} if isinstance(data, dict) else {}
    return str(data.get("kind")), str(meta.get("namespace") or namespace or ""), str(meta.get("name"))


def _taken_names(stream: manifests.Stream, drop: Set[int], namespace: Optional[str]) -> Set[Tuple[str, str, str]]:
    taken = set()
    for doc in stream.documents:
        if id(doc) not in drop and doc.kind in ("ConfigMap", "Service", "Deployment") and isinstance(doc.data, dict):
            taken.add(_key(doc.data, namespace))
    return taken


def _workspace(release: rel.Release, ordered, replaced: Set[str], rollout: str) -> None:
    doc = release.workspace
    current = doc.data["data"][c.WORKSPACE_KEY] or ""
    chart_entries, previous = workspace.split_entries(current)
    kept = [entry for entry in chart_entries if workspace.entry_name(entry) not in replaced]
    ours = [
        workspace.grpc_entry(loc.name, loc.name, loc.spec.get("port", c.FIRST_PORT))
        for loc in ordered
        if not schema.is_suspended(loc.spec)
    ]
    if not ours and not previous and len(kept) == len(chart_entries):
        return  # nothing of ours, before or now: the document passes through untouched
    value = workspace.build_text(kept, ours)
    if value != current:
        doc.replace_text(workspace.splice(doc, value))
    targets = (
        release.rollout_targets
        if rollout == "restart"
        else hook.read_only_webservers(release)
        if rollout == "reload"
        else []
    )  # the read-only one refuses reloads
    if targets:
        digest = workspace.checksum(doc.text[len(doc.head) :])
        for target in targets:
            workspace.set_checksum(target, digest)
