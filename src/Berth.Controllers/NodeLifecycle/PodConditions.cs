using System.Text.Json.Nodes;
using Berth.Api.Models;
using Berth.Api.Serialization;
using Berth.Client;

namespace Berth.Controllers.NodeLifecycle;

/// <summary>Pod condition writes shared by the node lifecycle, taint eviction and pod GC controllers.</summary>
internal static class PodConditions
{
    public const string Ready = "Ready";

    /// <summary>The condition set on pods a controller is about to delete (upstream v1.DisruptionTarget).</summary>
    public const string DisruptionTarget = "DisruptionTarget";

    /// <summary>
    /// apipod.UpdatePodCondition: puts <paramref name="condition"/> into <paramref name="status"/>, keeping the old
    /// lastTransitionTime when the status did not change; true when any field changed.
    /// </summary>
    public static bool Update(PodStatus status, PodCondition condition, DateTimeOffset now)
    {
        condition.LastTransitionTime = now;
        status.Conditions ??= [];
        var index = status.Conditions.FindIndex(c => c.Type == condition.Type);
        if (index < 0)
        {
            status.Conditions.Add(condition);
            return true;
        }
        var old = status.Conditions[index];
        if (condition.Status == old.Status)
        {
            condition.LastTransitionTime = old.LastTransitionTime;
        }
        var equal = condition.Status == old.Status && (condition.Reason ?? "") == (old.Reason ?? "") &&
            (condition.Message ?? "") == (old.Message ?? "") && condition.LastProbeTime == old.LastProbeTime &&
            condition.LastTransitionTime == old.LastTransitionTime;
        status.Conditions[index] = condition;
        return !equal;
    }

    /// <summary>
    /// utilpod.PatchPodStatus for what these controllers change: a strategic merge patch of pods/status with the
    /// given phase and/or condition (merged by type), guarded by the pod's uid so a new pod of the same name is left alone.
    /// </summary>
    public static Task PatchStatusAsync(KubeClient client, Pod pod, string? phase, PodCondition? condition, CancellationToken ct)
    {
        var status = new JsonObject();
        if (condition is not null)
        {
            status["conditions"] = new JsonArray(KubeJson.ToNode(condition));
        }
        if (phase is not null)
        {
            status["phase"] = phase;
        }
        var patch = new JsonObject
        {
            ["metadata"] = new JsonObject { ["uid"] = pod.Metadata?.Uid },
            ["status"] = status,
        };
        return client.PatchAsync<Pod>(pod.Metadata?.Namespace, pod.Metadata!.Name!, PatchType.StrategicMerge, patch.ToJsonString(), "status", ct);
    }
}
