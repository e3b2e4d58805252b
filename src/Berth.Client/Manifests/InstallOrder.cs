using System.Collections.Frozen;

namespace Berth.Client.Manifests;

/// <summary>
/// The order a set of objects is applied in: Helm's install order by kind (helm/helm pkg/release/util
/// kind_sorter.go), so namespaces, config and Services exist before the workloads that use them. Unknown kinds go
/// last, ordered by kind name as Helm does; objects of one kind keep their order in the files.
/// </summary>
public static class InstallOrder
{
    private static readonly FrozenDictionary<string, int> s_rank = new[]
    {
        "PriorityClass", "Namespace", "NetworkPolicy", "ResourceQuota", "LimitRange", "PodSecurityPolicy",
        "PodDisruptionBudget", "ServiceAccount", "Secret", "SecretList", "ConfigMap", "StorageClass",
        "PersistentVolume", "PersistentVolumeClaim", "CustomResourceDefinition", "ClusterRole", "ClusterRoleList",
        "ClusterRoleBinding", "ClusterRoleBindingList", "Role", "RoleList", "RoleBinding", "RoleBindingList",
        "Service", "DaemonSet", "Pod", "ReplicationController", "ReplicaSet", "Deployment",
        "HorizontalPodAutoscaler", "StatefulSet", "Job", "CronJob", "IngressClass", "Ingress", "APIService",
        "MutatingWebhookConfiguration", "ValidatingWebhookConfiguration",
    }.Select((kind, i) => (kind, i)).ToFrozenDictionary(k => k.kind, k => k.i, StringComparer.Ordinal);

    public static IReadOnlyList<ManifestObject> Sort(IEnumerable<ManifestObject> objects)
    {
        ArgumentNullException.ThrowIfNull(objects);
        // OrderBy is stable: equal keys keep their input order.
        return [.. objects
            .OrderBy(o => s_rank.TryGetValue(o.Kind, out var rank) ? rank : s_rank.Count)
            .ThenBy(o => s_rank.ContainsKey(o.Kind) ? "" : o.Kind, StringComparer.Ordinal)];
    }
}
