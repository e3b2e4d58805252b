using System.Runtime.ExceptionServices;
using System.Text.Json.Nodes;
using Berth.Api.Models;
using Berth.Client;
using LabelSelector = Berth.Api.Selectors.LabelSelector;

namespace Berth.Controllers.Framework;

/// <summary>Upstream metav1.GetControllerOf / NewControllerRef.</summary>
public static class OwnerRefs
{
    /// <summary>The ownerReference with <c>controller: true</c>, if any.</summary>
    public static OwnerReference? ControllerOf(IKubernetesObject obj)
    {
        ArgumentNullException.ThrowIfNull(obj);
        return obj.Metadata?.OwnerReferences?.FirstOrDefault(r => r.Controller == true);
    }

    /// <summary>A controller reference to <paramref name="owner"/>: controller and blockOwnerDeletion both true.</summary>
    public static OwnerReference NewControllerRef(IKubernetesObject owner, string apiVersion, string kind)
    {
        ArgumentNullException.ThrowIfNull(owner);
        return new OwnerReference
        {
            ApiVersion = apiVersion,
            Kind = kind,
            Name = owner.Metadata?.Name,
            Uid = owner.Metadata?.Uid,
            Controller = true,
            BlockOwnerDeletion = true,
        };
    }

    public static OwnerReference NewControllerRef(IKubernetesObject owner, KindInfo kind)
    {
        ArgumentNullException.ThrowIfNull(kind);
        return NewControllerRef(owner, kind.ApiVersion, kind.Kind);
    }
}

/// <summary>
/// Upstream <c>controller_ref_manager.go</c> (ClaimPods, ClaimReplicaSets through BaseControllerRefManager.ClaimObject):
/// a controller takes the objects that match its selector and have no controller (adoption, by a strategic merge patch
/// adding its controller reference), gives back the ones it controls that no longer match (release, a
/// <c>$patch: delete</c> of its reference), and touches nothing while it is itself being deleted. Both patches carry
/// the object's uid, so they cannot land on a namesake created in between. Before the first adoption the controller is
/// re-read live (RecheckDeletionTimestamp): the cache may not show that it was deleted a moment ago. One instance per
/// sync: the recheck runs at most once.
/// </summary>
public sealed class ControllerRefManager<T>
    where T : class, IKubernetesObject
{
    private readonly KubeClient _client;
    private readonly IKubernetesObject _controller;
    private readonly LabelSelector _selector;
    private readonly KindInfo _controllerKind;
    private readonly Func<CancellationToken, Task<IKubernetesObject?>> _recheck;
    private readonly string _kind;
    private Task<string?>? _canAdopt;

    /// <param name="recheck">Reads the controller live; null when it no longer exists. It may throw (e.g. the GET's error).</param>
    public ControllerRefManager(KubeClient client, IKubernetesObject controller, LabelSelector selector,
        KindInfo controllerKind, Func<CancellationToken, Task<IKubernetesObject?>> recheck)
    {
        ArgumentNullException.ThrowIfNull(client);
        ArgumentNullException.ThrowIfNull(controller);
        ArgumentNullException.ThrowIfNull(selector);
        ArgumentNullException.ThrowIfNull(controllerKind);
        ArgumentNullException.ThrowIfNull(recheck);
        _client = client;
        _controller = controller;
        _selector = selector;
        _controllerKind = controllerKind;
        _recheck = recheck;
        _kind = KubeKinds.TryGet(typeof(T), out var info) ? info.Kind : typeof(T).Name;
    }

    public Task<List<T>> ClaimAsync(IEnumerable<T> candidates, CancellationToken ct) => ClaimAsync(candidates, null, ct);

    /// <summary>
    /// The candidates this controller owns once adoptions and releases are done. Every candidate is tried; failures
    /// (other than the object having vanished) are thrown afterwards, the first alone or all as an
    /// <see cref="AggregateError"/>, so the caller's sync fails and is retried, as upstream returns the aggregate.
    /// </summary>
    /// <param name="filter">Upstream's extra ClaimPods filters: a candidate matches only if the selector and this agree.</param>
    public async Task<List<T>> ClaimAsync(IEnumerable<T> candidates, Func<T, bool>? filter, CancellationToken ct)
    {
        ArgumentNullException.ThrowIfNull(candidates);
        var claimed = new List<T>();
        List<Exception>? errors = null;
        foreach (var obj in candidates)
        {
            try
            {
                if (await ClaimObjectAsync(obj, filter, ct).ConfigureAwait(false))
                {
                    claimed.Add(obj);
                }
            }
            catch (Exception e) when (e is not OperationCanceledException || !ct.IsCancellationRequested)
            {
                (errors ??= []).Add(e);
            }
        }
        if (errors is [var single])
        {
            ExceptionDispatchInfo.Throw(single);
        }
        if (errors is not null)
        {
            throw new AggregateError(errors);
        }
        return claimed;
    }

    // Upstream BaseControllerRefManager.ClaimObject: true when the controller owns obj afterwards.
    private async Task<bool> ClaimObjectAsync(T obj, Func<T, bool>? filter, CancellationToken ct)
    {
        var controllerUid = _controller.Metadata?.Uid;
        var beingDeleted = _controller.Metadata?.DeletionTimestamp is not null;
        var controllerRef = OwnerRefs.ControllerOf(obj);
        if (controllerRef is not null)
        {
            if (controllerRef.Uid != controllerUid)
            {
                // Owned by someone else.
                return false;
            }
            if (Matches(obj, filter))
            {
                // Ours and still matching: claimed even while we are being deleted, since that takes no action.
                return true;
            }
            if (beingDeleted)
            {
                return false;
            }
            await ReleaseAsync(obj, ct).ConfigureAwait(false);
            return false;
        }

        // An orphan.
        if (beingDeleted || !Matches(obj, filter) || obj.Metadata?.DeletionTimestamp is not null)
        {
            return false;
        }
        var ns = _controller.Metadata?.Namespace;
        if (!string.IsNullOrEmpty(ns) && ns != obj.Metadata?.Namespace)
        {
            return false;
        }
        try
        {
            await AdoptAsync(obj, ct).ConfigureAwait(false);
        }
        catch (KubeApiException e) when (e.StatusCode == 404)
        {
            // The object is gone.
            return false;
        }
        return true;
    }

    private bool Matches(T obj, Func<T, bool>? filter) =>
        _selector.Matches(obj.Metadata?.Labels) && (filter is null || filter(obj));

    private async Task AdoptAsync(T obj, CancellationToken ct)
    {
        var meta = obj.Metadata!;
        if (await CanAdoptAsync(ct).ConfigureAwait(false) is { } reason)
        {
            throw new InvalidOperationException($"can't adopt {_kind} {meta.Namespace}/{meta.Name} ({meta.Uid}): {reason}");
        }
        // The API server rejects this if another ownerReference already has controller=true.
        var patch = new JsonObject
        {
            ["metadata"] = new JsonObject
            {
                ["ownerReferences"] = new JsonArray(new JsonObject
                {
                    ["apiVersion"] = _controllerKind.ApiVersion,
                    ["kind"] = _controllerKind.Kind,
                    ["name"] = _controller.Metadata?.Name,
                    ["uid"] = _controller.Metadata?.Uid,
                    ["controller"] = true,
                    ["blockOwnerDeletion"] = true,
                }),
                ["uid"] = meta.Uid,
            },
        };
        await _client.PatchAsync<T>(meta.Namespace, meta.Name!, PatchType.StrategicMerge, patch.ToJsonString(), ct: ct).ConfigureAwait(false);
    }

    private async Task ReleaseAsync(T obj, CancellationToken ct)
    {
        var meta = obj.Metadata!;
        var patch = new JsonObject
        {
            ["metadata"] = new JsonObject
            {
                ["ownerReferences"] = new JsonArray(new JsonObject { ["$patch"] = "delete", ["uid"] = _controller.Metadata?.Uid }),
                ["uid"] = meta.Uid,
            },
        };
        try
        {
            await _client.PatchAsync<T>(meta.Namespace, meta.Name!, PatchType.StrategicMerge, patch.ToJsonString(), ct: ct).ConfigureAwait(false);
        }
        catch (KubeApiException e) when (e.StatusCode is 404 or 422)
        {
            // Gone, or Invalid: it has no ownerReferences left, or its uid differs (deleted and recreated). Nothing to release.
        }
    }

    // Upstream RecheckDeletionTimestamp, run once per manager: null when adoption may go ahead, else why not.
    private Task<string?> CanAdoptAsync(CancellationToken ct) => _canAdopt ??= RecheckAsync(ct);

    private async Task<string?> RecheckAsync(CancellationToken ct)
    {
        var meta = _controller.Metadata;
        IKubernetesObject? fresh;
        try
        {
            fresh = await _recheck(ct).ConfigureAwait(false);
        }
        catch (Exception e) when (e is KubeApiException or HttpRequestException or IOException or TimeoutException)
        {
            return $"can't recheck DeletionTimestamp: {e.Message}";
        }
        if (fresh is null)
        {
            return $"can't recheck DeletionTimestamp: {_controllerKind.Kind} {meta?.Namespace}/{meta?.Name} not found";
        }
        if (fresh.Metadata?.Uid != meta?.Uid)
        {
            return $"can't recheck DeletionTimestamp: original {_controllerKind.Kind} {meta?.Namespace}/{meta?.Name} is gone: got uid {fresh.Metadata?.Uid}, wanted {meta?.Uid}";
        }
        if (fresh.Metadata?.DeletionTimestamp is { } deleted)
        {
            return $"{fresh.Metadata.Namespace}/{fresh.Metadata.Name} has just been deleted at {GoTime(deleted)}";
        }
        return null;
    }

    // metav1.Time printed with %v: Go's time.Time String() form.
    private static string GoTime(DateTimeOffset time) =>
        time.UtcDateTime.ToString("yyyy-MM-dd HH:mm:ss '+0000 UTC'", System.Globalization.CultureInfo.InvariantCulture);
}

/// <summary>Several errors as one, with upstream utilerrors.NewAggregate's message: "[first, second]".</summary>
public sealed class AggregateError(IReadOnlyList<Exception> errors) : AggregateException(errors)
{
    public override string Message => $"[{string.Join(", ", InnerExceptions.Select(e => e.Message))}]";
}
