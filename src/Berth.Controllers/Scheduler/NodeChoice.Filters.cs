using System.Globalization;
using Berth.Api.Models;
using Berth.Controllers.Framework;

namespace Berth.Controllers.Scheduler;

internal static partial class NodeChoice
{
    // Upstream reasons: nodeunschedulable.ErrReasonUnschedulable, nodeaffinity.ErrReasonPod, nodeports.ErrReason.
    internal const string ReasonUnschedulable = "node(s) were unschedulable";
    internal const string ReasonNodeAffinity = "node(s) didn't match Pod's node affinity/selector";
    internal const string ReasonNodePorts = "node(s) didn't have free ports for the requested pod ports";
    internal const string ReasonTooManyPods = "Too many pods";

    internal const string TaintNodeUnschedulable = "node.kubernetes.io/unschedulable";
    internal const string TaintNodeNotReady = "node.kubernetes.io/not-ready";
    internal const string TaintNodeUnreachable = "node.kubernetes.io/unreachable";

    // The node lifecycle controller's nodeConditionToTaintKeyStatusMap (doNoScheduleTaintingPass): condition type →
    // (status → NoSchedule taint key).
    private static readonly (string Type, string Status, string Taint)[] s_conditionTaints =
    [
        ("Ready", "False", TaintNodeNotReady),
        ("Ready", "Unknown", TaintNodeUnreachable),
        ("MemoryPressure", "True", "node.kubernetes.io/memory-pressure"),
        ("DiskPressure", "True", "node.kubernetes.io/disk-pressure"),
        ("NetworkUnavailable", "True", "node.kubernetes.io/network-unavailable"),
        ("PIDPressure", "True", "node.kubernetes.io/pid-pressure"),
    ];

    /// <summary>
    /// The default profile's filters in order, each as upstream's plugin: NodeUnschedulable, TaintToleration,
    /// NodeAffinity (unresolvable), NodePorts, NodeResourcesFit (resolvable by preemption). Null when the pod fits.
    /// NodeName needs no filter: pods that name a node are never queued.
    /// </summary>
    internal static FilterResult? Filter(Pod pod, PodInfo info, NodeInfo node)
    {
        var tolerations = pod.Spec?.Tolerations ?? [];
        if (node.Node?.Spec?.Unschedulable == true
            && !Tolerations.TolerationsTolerateTaint(tolerations, new Taint { Key = TaintNodeUnschedulable, Effect = "NoSchedule" }))
        {
            return Unresolvable(ReasonUnschedulable);
        }
        // DoNotScheduleTaintsFilterFunc: PreferNoSchedule taints only lower the score.
        if (Tolerations.FindMatchingUntoleratedTaint(EffectiveTaints(node.Node!), tolerations, t => t.Effect is "NoSchedule" or "NoExecute") is { } taint)
        {
            return Unresolvable($"node(s) had untolerated taint {{{taint.Key}: {taint.Value}}}");
        }
        if (!MatchesNodeAffinity(pod, node.Node!))
        {
            return Unresolvable(ReasonNodeAffinity);
        }
        if (info.HostPorts.Any(node.PortConflicts))
        {
            return new FilterResult([ReasonNodePorts], Resolvable: true);
        }
        return InsufficientResources(info.Requests, node) is { Count: > 0 } insufficient
            ? new FilterResult(insufficient, Resolvable: true)
            : null;
    }

    /// <summary>
    /// noderesources fitsRequest: one more pod than allocatable "pods" is too many; then each requested resource
    /// must fit in allocatable minus what the node's pods already request (a zero request always fits).
    /// </summary>
    internal static List<string> InsufficientResources(Resources request, NodeInfo node)
    {
        var insufficient = new List<string>();
        if (node.Pods.Count + 1 > node.Allocatable.AllowedPods)
        {
            insufficient.Add(ReasonTooManyPods);
        }
        var allocatable = node.Allocatable;
        var requested = node.Requested;
        if (request.MilliCpu > 0 && request.MilliCpu > allocatable.MilliCpu - requested.MilliCpu)
        {
            insufficient.Add("Insufficient cpu");
        }
        if (request.Memory > 0 && request.Memory > allocatable.Memory - requested.Memory)
        {
            insufficient.Add("Insufficient memory");
        }
        if (request.EphemeralStorage > 0 && request.EphemeralStorage > allocatable.EphemeralStorage - requested.EphemeralStorage)
        {
            insufficient.Add("Insufficient ephemeral-storage");
        }
        foreach (var (name, quantity) in (request.Scalars ?? []).OrderBy(s => s.Key, StringComparer.Ordinal))
        {
            if (quantity > 0 && quantity > allocatable.Scalar(name) - requested.Scalar(name))
            {
                insufficient.Add("Insufficient " + name);
            }
        }
        return insufficient;
    }

    /// <summary>
    /// The node's taints plus the NoSchedule condition taints the node lifecycle controller keeps on it
    /// (TaintNodesByCondition). The scheduler derives them from the conditions itself so it never races the
    /// controller (nor needs it running): a node that turns NotReady takes no new pods from that moment, and the
    /// FitError names the same taint upstream's would. A node that never reported a Ready condition is treated as
    /// not ready: it has no agent that could run a pod.
    /// </summary>
    internal static IEnumerable<Taint> EffectiveTaints(Node node)
    {
        var taints = node.Spec?.Taints ?? [];
        var conditions = node.Status?.Conditions ?? [];
        var derived = new List<Taint>();
        if (!conditions.Any(c => c.Type == "Ready"))
        {
            derived.Add(new Taint { Key = TaintNodeNotReady, Effect = "NoSchedule" });
        }
        foreach (var condition in conditions)
        {
            foreach (var (type, status, key) in s_conditionTaints)
            {
                if (condition.Type == type && condition.Status == status
                    && !taints.Any(t => t.Key == key && t.Effect == "NoSchedule") && !derived.Any(t => t.Key == key))
                {
                    derived.Add(new Taint { Key = key, Effect = "NoSchedule" });
                }
            }
        }
        return derived.Count == 0 ? taints : taints.Concat(derived);
    }

    /// <summary>nodeaffinity's required part: spec.nodeSelector (all labels equal) and the required node selector terms (any term).</summary>
    internal static bool MatchesNodeAffinity(Pod pod, Node node)
    {
        var labels = node.Metadata?.Labels ?? [];
        if (pod.Spec?.NodeSelector is { } selector && selector.Any(s => !labels.TryGetValue(s.Key, out var value) || value != s.Value))
        {
            return false;
        }
        var terms = pod.Spec?.Affinity?.NodeAffinity?.RequiredDuringSchedulingIgnoredDuringExecution?.NodeSelectorTerms;
        return terms is null || terms.Any(term => TermMatches(term, node));
    }

    // nodeSelectorTerms are ORed, a term's requirements ANDed; an empty term matches nothing (component-helpers nodeaffinity).
    private static bool TermMatches(NodeSelectorTerm term, Node node)
    {
        var labels = node.Metadata?.Labels ?? [];
        var expressions = term.MatchExpressions ?? [];
        var fields = term.MatchFields ?? [];
        if (expressions.Count == 0 && fields.Count == 0)
        {
            return false;
        }
        var nodeName = node.Metadata?.Name ?? "";
        return expressions.All(r => LabelRequirementMatches(r, labels))
            && fields.All(r => r.Key == "metadata.name" && r.Operator is "In" or "NotIn" && r.Values?.Count == 1
                && (r.Operator == "In") == (r.Values[0] == nodeName));
    }

    private static bool LabelRequirementMatches(NodeSelectorRequirement requirement, Dictionary<string, string> labels)
    {
        var key = requirement.Key ?? "";
        var values = requirement.Values ?? [];
        var has = labels.TryGetValue(key, out var value);
        return requirement.Operator switch
        {
            "In" => has && values.Contains(value!),
            "NotIn" => !has || !values.Contains(value!),
            "Exists" => has,
            "DoesNotExist" => !has,
            "Gt" or "Lt" => has && values.Count == 1
                && long.TryParse(value, NumberStyles.AllowLeadingSign, CultureInfo.InvariantCulture, out var actual)
                && long.TryParse(values[0], NumberStyles.AllowLeadingSign, CultureInfo.InvariantCulture, out var bound)
                && (requirement.Operator == "Gt" ? actual > bound : actual < bound),
            _ => false,
        };
    }

    private static FilterResult Unresolvable(string reason) => new([reason], Resolvable: false);
}
