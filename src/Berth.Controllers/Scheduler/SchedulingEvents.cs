using System.Text.Json.Nodes;
using Berth.Api.Models;
using Berth.Api.Serialization;

namespace Berth.Controllers.Scheduler;

/// <summary>
/// Which informer events can make a parked pod schedulable (upstream eventhandlers.go / framework events.go), so the
/// queue moves pods only for changes that matter: a node's heartbeat or an idle pod's status write moves nothing.
/// </summary>
internal static class SchedulingEvents
{
    /// <summary>
    /// nodeSchedulingPropertiesChange: the node became schedulable, or its allocatable, labels, taints, condition
    /// statuses or annotations changed. Heartbeat times alone change nothing.
    /// </summary>
    public static bool NodeSchedulingPropertiesChanged(Node oldNode, Node newNode)
    {
        var becameSchedulable = (oldNode.Spec?.Unschedulable ?? false) != (newNode.Spec?.Unschedulable ?? false)
            && newNode.Spec?.Unschedulable != true;
        return becameSchedulable
            || !SameMap(oldNode.Status?.Allocatable, newNode.Status?.Allocatable)
            || !SameMap(oldNode.Metadata?.Labels, newNode.Metadata?.Labels)
            || !SameMap(oldNode.Metadata?.Annotations, newNode.Metadata?.Annotations)
            || !SameTaints(oldNode.Spec?.Taints, newNode.Spec?.Taints)
            || !SameMap(ConditionStatuses(oldNode), ConditionStatuses(newNode));
    }

    /// <summary>
    /// isPodUpdated: the pending pod changed in more than its status, resourceVersion, generation, managedFields or
    /// finalizers (so the scheduler's own PodScheduled condition write does not send it round again).
    /// </summary>
    public static bool PodUpdated(Pod oldPod, Pod newPod) => !JsonNode.DeepEquals(Strip(oldPod), Strip(newPod));

    /// <summary>
    /// Whether a bound pod changed in anything the scheduler cache holds (labels, owner, deletion, priority; requests
    /// and host ports cannot change once bound). False for the status and metadata churn of running pods, so idle
    /// pods cost this comparison and nothing else.
    /// </summary>
    public static bool AssignedPodChanged(Pod oldPod, Pod newPod) =>
        oldPod.Spec?.NodeName != newPod.Spec?.NodeName
        || (oldPod.Metadata?.DeletionTimestamp is null) != (newPod.Metadata?.DeletionTimestamp is null)
        || oldPod.Spec?.Priority != newPod.Spec?.Priority
        || PodInfo.ControllerUidOf(oldPod) != PodInfo.ControllerUidOf(newPod)
        || !SameMap(oldPod.Metadata?.Labels, newPod.Metadata?.Labels);

    private static JsonNode Strip(Pod pod)
    {
        var node = KubeJson.ToNode(pod);
        if (node["metadata"] is JsonObject metadata)
        {
            metadata.Remove("resourceVersion");
            metadata.Remove("generation");
            metadata.Remove("managedFields");
            metadata.Remove("finalizers");
        }
        if (node is JsonObject obj && obj["status"] is JsonObject status)
        {
            // The one status field upstream keeps: resource claim statuses decide what the pod can use.
            var claims = status["resourceClaimStatuses"]?.DeepClone();
            obj.Remove("status");
            if (claims is not null)
            {
                obj["status"] = new JsonObject { ["resourceClaimStatuses"] = claims };
            }
        }
        return node;
    }

    private static Dictionary<string, string>? ConditionStatuses(Node node)
    {
        var conditions = node.Status?.Conditions;
        if (conditions is null)
        {
            return null;
        }
        var statuses = new Dictionary<string, string>(StringComparer.Ordinal);
        foreach (var condition in conditions)
        {
            statuses[condition.Type ?? ""] = condition.Status ?? "";
        }
        return statuses;
    }

    // equality.Semantic.DeepEqual on maps: nil and empty are equal.
    private static bool SameMap(IReadOnlyDictionary<string, string>? a, IReadOnlyDictionary<string, string>? b)
    {
        if ((a?.Count ?? 0) != (b?.Count ?? 0))
        {
            return false;
        }
        return a is null || a.All(e => b!.TryGetValue(e.Key, out var value) && value == e.Value);
    }

    private static bool SameTaints(List<Taint>? a, List<Taint>? b)
    {
        if ((a?.Count ?? 0) != (b?.Count ?? 0))
        {
            return false;
        }
        for (var i = 0; i < (a?.Count ?? 0); i++)
        {
            if (a![i].Key != b![i].Key || a[i].Value != b[i].Value || a[i].Effect != b[i].Effect || a[i].TimeAdded != b[i].TimeAdded)
            {
                return false;
            }
        }
        return true;
    }
}
