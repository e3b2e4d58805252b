using System.Text.Json.Nodes;
using Berth.Api.Models;
using Berth.Api.Serialization;
using Berth.Client;

namespace Berth.Controllers.NodeLifecycle;

/// <summary>
/// Writes a node's taints the way upstream's controller.AddOrUpdateTaintOnNode / RemoveTaintOffNode /
/// controllerutil.SwapNodeControllerTaint do: read the node, change spec.taints, and patch it guarded by the
/// resourceVersion that was read (spec.taints has no merge key, so only a guarded replace keeps concurrent changes),
/// retrying conflicts.
/// </summary>
internal static class NodeTaints
{
    // Upstream's UpdateTaintBackoff allows 5 attempts.
    private const int Attempts = 5;

    /// <summary>SwapNodeControllerTaint: adds <paramref name="add"/> (timeAdded now), then removes <paramref name="remove"/>; false when either failed.</summary>
    public static async Task<bool> SwapAsync(KubeClient client, IReadOnlyList<Taint> add, IReadOnlyList<Taint> remove, Node node,
        DateTimeOffset now, Action<string> log, CancellationToken ct)
    {
        var name = node.Metadata?.Name ?? "";
        var stamped = add.Select(t => new Taint { Key = t.Key, Value = t.Value, Effect = t.Effect, TimeAdded = now }).ToList();
        try
        {
            await AddOrUpdateAsync(client, name, stamped, ct).ConfigureAwait(false);
        }
        catch (Exception e) when (e is KubeApiException or HttpRequestException or IOException or TimeoutException)
        {
            log($"unable to taint [{Describe(stamped)}] unresponsive Node \"{name}\": {e.Message}");
            return false;
        }
        try
        {
            await RemoveAsync(client, name, node, remove, ct).ConfigureAwait(false);
        }
        catch (Exception e) when (e is KubeApiException or HttpRequestException or IOException or TimeoutException)
        {
            log($"unable to remove [{Describe(remove)}] unneeded taint from unresponsive Node \"{name}\": {e.Message}");
            return false;
        }
        return true;
    }

    /// <summary>AddOrUpdateTaintOnNode: each taint replaces the one with its key and effect, or is appended.</summary>
    public static Task AddOrUpdateAsync(KubeClient client, string nodeName, IReadOnlyList<Taint> taints, CancellationToken ct) =>
        taints.Count == 0 ? Task.CompletedTask : UpdateAsync(client, nodeName, current =>
        {
            var updated = false;
            var result = current;
            foreach (var taint in taints)
            {
                (result, var changed) = Taints.AddOrUpdate(result, taint);
                updated |= changed;
            }
            return updated ? result : null;
        }, ct);

    /// <summary>
    /// RemoveTaintOffNode: drops the taints' keys and effects; when <paramref name="node"/> (a cached copy) has none of
    /// them, nothing is read or written.
    /// </summary>
    public static Task RemoveAsync(KubeClient client, string nodeName, Node? node, IReadOnlyList<Taint> taints, CancellationToken ct)
    {
        if (taints.Count == 0 || (node is not null && !taints.Any(t => Taints.Exists(node.Spec?.Taints, t))))
        {
            return Task.CompletedTask;
        }
        return UpdateAsync(client, nodeName, current =>
        {
            var updated = false;
            var result = current;
            foreach (var taint in taints)
            {
                if (!Taints.Exists(result, taint))
                {
                    continue;
                }
                (result, var deleted) = Taints.Remove(result, taint);
                updated |= deleted;
            }
            return updated ? result : null;
        }, ct);
    }

    /// <summary>Reads the node, computes its new taints (null = no change), and writes them; conflicts start over.</summary>
    private static async Task UpdateAsync(KubeClient client, string nodeName, Func<List<Taint>, List<Taint>?> change, CancellationToken ct)
    {
        for (var attempt = 1; ; attempt++)
        {
            var node = await client.GetAsync<Node>(null, nodeName, ct).ConfigureAwait(false);
            if (change(node.Spec?.Taints ?? []) is not { } taints)
            {
                return;
            }
            try
            {
                await PatchTaintsAsync(client, node, taints, ct).ConfigureAwait(false);
                return;
            }
            catch (KubeApiException e) when (e.StatusCode == 409 && attempt < Attempts)
            {
                // Someone else wrote the node in between: read it again (upstream retries with a 100 ms back-off;
                // the fresh read already waits for the other write, so retry at once).
            }
        }
    }

    /// <summary>PatchNodeTaints: spec.taints replaced, guarded by the resourceVersion the change was computed from.</summary>
    private static Task<Node> PatchTaintsAsync(KubeClient client, Node node, List<Taint> taints, CancellationToken ct)
    {
        var list = new JsonArray([.. taints.Select(t => KubeJson.ToNode(t))]);
        var patch = new JsonObject
        {
            ["metadata"] = new JsonObject { ["resourceVersion"] = node.Metadata?.ResourceVersion },
            // An empty list removes the field, as upstream's two-way merge patch does for a node left without taints.
            ["spec"] = new JsonObject { ["taints"] = taints.Count == 0 ? null : list },
        };
        return client.PatchAsync<Node>(null, node.Metadata!.Name!, PatchType.Merge, patch.ToJsonString(), ct: ct);
    }

    private static string Describe(IEnumerable<Taint> taints) => string.Join(", ", taints.Select(t => $"{t.Key}:{t.Effect}"));
}
