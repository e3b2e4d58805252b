using Berth.Api.Models;

namespace Berth.ApiServer.Resources;

/// <summary>Every resource this API server serves, in discovery order.</summary>
public sealed class ResourceCatalog
{
    private readonly Dictionary<(string Group, string Version, string Plural), ResourceDefinition> _byPath;

    public ResourceCatalog(IEnumerable<ResourceDefinition> resources)
    {
        All = [.. resources];
        _byPath = All.ToDictionary(r => (r.Group, r.Version, r.Plural));
        GroupVersions = [.. All.Select(r => (r.Group, r.Version)).Distinct()];
    }

    public IReadOnlyList<ResourceDefinition> All { get; }

    public IReadOnlyList<(string Group, string Version)> GroupVersions { get; }

    public ResourceDefinition? Find(string group, string version, string plural) =>
        _byPath.GetValueOrDefault((group, version, plural));

    public ResourceDefinition Get(string group, string plural) =>
        All.First(r => r.Group == group && r.Plural == plural);

    public static ResourceCatalog Default { get; } = new(
    [
        new() { Group = "", Version = "v1", Kind = "Namespace", Plural = "namespaces", Singular = "namespace", Namespaced = false,
            ModelType = typeof(Namespace), ShortNames = ["ns"], Subresources = ["status", "finalize"], SelectableFields = ["status.phase"] },
        new() { Group = "", Version = "v1", Kind = "Pod", Plural = "pods", Singular = "pod", Namespaced = true,
            ModelType = typeof(Pod), ShortNames = ["po"], Categories = ["all"], Subresources = ["status", "binding", "log", "exec"],
            SelectableFields = ["spec.nodeName", "spec.restartPolicy", "spec.schedulerName", "spec.serviceAccountName",
                "spec.hostNetwork", "status.phase", "status.podIP", "status.nominatedNodeName"] },
        new() { Group = "", Version = "v1", Kind = "Service", Plural = "services", Singular = "service", Namespaced = true,
            ModelType = typeof(Service), ShortNames = ["svc"], Categories = ["all"], Subresources = ["status"] },
        new() { Group = "", Version = "v1", Kind = "Endpoints", Plural = "endpoints", Singular = "endpoints", Namespaced = true,
            ModelType = typeof(Endpoints), ShortNames = ["ep"] },
        new() { Group = "", Version = "v1", Kind = "Event", Plural = "events", Singular = "event", Namespaced = true,
            ModelType = typeof(Event), ShortNames = ["ev"],
            SelectableFields = ["involvedObject.kind", "involvedObject.namespace", "involvedObject.name", "involvedObject.uid",
                "involvedObject.apiVersion", "involvedObject.resourceVersion", "involvedObject.fieldPath", "reason",
                "reportingComponent", "source", "type"] },
        new() { Group = "", Version = "v1", Kind = "Node", Plural = "nodes", Singular = "node", Namespaced = false,
            ModelType = typeof(Node), ShortNames = ["no"], Subresources = ["status"], SelectableFields = ["spec.unschedulable"] },
        new() { Group = "", Version = "v1", Kind = "ConfigMap", Plural = "configmaps", Singular = "configmap", Namespaced = true,
            ModelType = typeof(ConfigMap), ShortNames = ["cm"] },
        new() { Group = "", Version = "v1", Kind = "Secret", Plural = "secrets", Singular = "secret", Namespaced = true,
            ModelType = typeof(Secret), SelectableFields = ["type"] },
        new() { Group = "", Version = "v1", Kind = "PersistentVolumeClaim", Plural = "persistentvolumeclaims", Singular = "persistentvolumeclaim",
            Namespaced = true, ModelType = typeof(PersistentVolumeClaim), ShortNames = ["pvc"], Subresources = ["status"] },
        new() { Group = "apps", Version = "v1", Kind = "Deployment", Plural = "deployments", Singular = "deployment", Namespaced = true,
            ModelType = typeof(Deployment), ShortNames = ["deploy"], Categories = ["all"], Subresources = ["status", "scale"], HasGeneration = true },
        new() { Group = "apps", Version = "v1", Kind = "ReplicaSet", Plural = "replicasets", Singular = "replicaset", Namespaced = true,
            ModelType = typeof(ReplicaSet), ShortNames = ["rs"], Categories = ["all"], Subresources = ["status", "scale"],
            SelectableFields = ["status.replicas"], HasGeneration = true },
        new() { Group = "discovery.k8s.io", Version = "v1", Kind = "EndpointSlice", Plural = "endpointslices", Singular = "endpointslice",
            Namespaced = true, ModelType = typeof(EndpointSlice), HasGeneration = true },
        new() { Group = "coordination.k8s.io", Version = "v1", Kind = "Lease", Plural = "leases", Singular = "lease", Namespaced = true,
            ModelType = typeof(Lease) },
    ]);
}
