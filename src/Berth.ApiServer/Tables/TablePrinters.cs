using System.Collections.Frozen;
using System.Text.Json.Nodes;
using D = Berth.ApiServer.Tables.ColumnDescriptions;

namespace Berth.ApiServer.Tables;

/// <summary>
/// Server-side Table conversion (what <c>kubectl get</c> prints), ported from the apiserver's printers in
/// kubernetes <c>pkg/printers/internalversion/printers.go</c> (v1.32). Rows are always generated "wide",
/// as the apiserver's TableConvertor does; kubectl hides <c>priority: 1</c> columns unless <c>-o wide</c>.
/// </summary>
public static class TablePrinters
{
    private static readonly Column s_name = new("Name", "string", "name", D.Name, 0);
    private static readonly Column s_age = new("Age", "string", "", D.CreationTimestamp, 0);

    private static readonly Printer s_default = new(
        [s_name, new("Created At", "date", "", D.CreationTimestamp, 0)],
        CorePrinters.Default);

    private static readonly FrozenDictionary<string, Printer> s_printers = new Dictionary<string, Printer>(StringComparer.Ordinal)
    {
        ["pods"] = new(
            [
                s_name,
                new("Ready", "string", "", D.PodReady, 0),
                new("Status", "string", "", D.PodStatus, 0),
                new("Restarts", "string", "", D.PodRestarts, 0),
                s_age,
                new("IP", "string", "", D.PodIP, 1),
                new("Node", "string", "", D.PodNodeName, 1),
                new("Nominated Node", "string", "", D.PodNominatedNodeName, 1),
                new("Readiness Gates", "string", "", D.PodReadinessGates, 1),
            ],
            PodPrinter.Cells,
            PodPrinter.RowConditions),
        ["services"] = new(
            [
                s_name,
                new("Type", "string", "", D.ServiceType, 0),
                new("Cluster-IP", "string", "", D.ServiceClusterIP, 0),
                new("External-IP", "string", "", D.ServiceExternalIPs, 0),
                new("Port(s)", "string", "", D.ServicePorts, 0),
                s_age,
                new("Selector", "string", "", D.ServiceSelector, 1),
            ],
            ServicePrinter.Cells),
        ["deployments.apps"] = new(
            [
                s_name,
                new("Ready", "string", "", D.ReadyPods, 0),
                new("Up-to-date", "string", "", D.DeploymentUpdatedReplicas, 0),
                new("Available", "string", "", D.DeploymentAvailableReplicas, 0),
                s_age,
                new("Containers", "string", "", D.TemplateContainers, 1),
                new("Images", "string", "", D.TemplateImages, 1),
                new("Selector", "string", "", D.DeploymentSelector, 1),
            ],
            AppsPrinters.Deployment),
        ["replicasets.apps"] = new(
            [
                s_name,
                new("Desired", "integer", "", D.ReplicaSetSpecReplicas, 0),
                new("Current", "integer", "", D.ReplicaSetStatusReplicas, 0),
                new("Ready", "integer", "", D.ReplicaSetReadyReplicas, 0),
                s_age,
                new("Containers", "string", "", D.TemplateContainers, 1),
                new("Images", "string", "", D.TemplateImages, 1),
                new("Selector", "string", "", D.ReplicaSetSelector, 1),
            ],
            AppsPrinters.ReplicaSet),
        ["namespaces"] = new(
            [s_name, new("Status", "string", "", D.NamespaceStatus, 0), s_age],
            CorePrinters.Namespace),
        ["nodes"] = new(
            [
                s_name,
                new("Status", "string", "", D.NodeStatus, 0),
                new("Roles", "string", "", D.NodeRoles, 0),
                s_age,
                new("Version", "string", "", D.NodeKubeletVersion, 0),
                new("Internal-IP", "string", "", D.NodeAddresses, 1),
                new("External-IP", "string", "", D.NodeAddresses, 1),
                new("OS-Image", "string", "", D.NodeOSImage, 1),
                new("Kernel-Version", "string", "", D.NodeKernelVersion, 1),
                new("Container-Runtime", "string", "", D.NodeContainerRuntimeVersion, 1),
            ],
            NodePrinter.Cells),
        ["endpoints"] = new(
            [s_name, new("Endpoints", "string", "", D.EndpointsSubsets, 0), s_age],
            EndpointsPrinters.Endpoints),
        ["endpointslices.discovery.k8s.io"] = new(
            [
                s_name,
                new("AddressType", "string", "", D.SliceAddressType, 0),
                new("Ports", "string", "", D.SlicePorts, 0),
                new("Endpoints", "string", "", D.SliceEndpoints, 0),
                s_age,
            ],
            EndpointsPrinters.EndpointSlice),
        ["events"] = new(
            [
                new("Last Seen", "string", "", D.EventLastTimestamp, 0),
                new("Type", "string", "", D.EventType, 0),
                new("Reason", "string", "", D.EventReason, 0),
                new("Object", "string", "", D.EventInvolvedObject, 0),
                new("Subobject", "string", "", D.EventFieldPath, 1),
                new("Source", "string", "", D.EventSource, 1),
                new("Message", "string", "", D.EventMessage, 0),
                new("First Seen", "string", "", D.EventFirstTimestamp, 1),
                new("Count", "string", "", D.EventCount, 1),
                new("Name", "string", "name", D.Name, 1),
            ],
            EventPrinter.Cells),
        ["configmaps"] = new(
            [s_name, new("Data", "string", "", D.ConfigMapData, 0), s_age],
            CorePrinters.ConfigMap),
        ["secrets"] = new(
            [
                s_name,
                new("Type", "string", "", D.SecretType, 0),
                new("Data", "string", "", D.SecretData, 0),
                s_age,
            ],
            CorePrinters.Secret),
        ["persistentvolumeclaims"] = new(
            [
                s_name,
                new("Status", "string", "", D.ClaimPhase, 0),
                new("Volume", "string", "", D.ClaimVolumeName, 0),
                new("Capacity", "string", "", D.ClaimCapacity, 0),
                new("Access Modes", "string", "", D.ClaimAccessModes, 0),
                new("StorageClass", "string", "", D.ClaimStorageClass, 0),
                new("VolumeAttributesClass", "string", "", D.ClaimVolumeAttributesClass, 0),
                s_age,
                new("VolumeMode", "string", "", D.ClaimVolumeMode, 1),
            ],
            CorePrinters.PersistentVolumeClaim),
        ["leases.coordination.k8s.io"] = new(
            [s_name, new("Holder", "string", "", D.LeaseHolderIdentity, 0), s_age],
            CorePrinters.Lease),
    }.ToFrozenDictionary(StringComparer.Ordinal);

    /// <summary>
    /// The Table's <c>columnDefinitions</c> for a resource (<c>plural</c> for the core group, otherwise
    /// <c>plural.group</c>, e.g. <c>deployments.apps</c>). Unknown resources get the apiserver's default
    /// table (Name, Created At). Each call returns a new array the caller may attach anywhere.
    /// </summary>
    public static JsonArray ColumnDefinitions(string resource)
    {
        var columns = Find(resource).Columns;
        var array = new JsonArray();
        foreach (var c in columns)
        {
            array.Add(new JsonObject
            {
                ["name"] = c.Name,
                ["type"] = c.Type,
                ["format"] = c.Format,
                ["description"] = c.Description,
                ["priority"] = c.Priority,
            });
        }

        return array;
    }

    /// <summary>
    /// One row's <c>cells</c>, in the order of <see cref="ColumnDefinitions"/>, for a stored object. Ages are
    /// relative to <paramref name="now"/>. Counts upstream prints as int64 are JSON numbers; all else strings.
    /// </summary>
    public static JsonArray Cells(string resource, JsonObject obj, DateTimeOffset now)
    {
        ArgumentNullException.ThrowIfNull(obj);
        return Find(resource).Cells(obj, now);
    }

    /// <summary>
    /// The row's <c>conditions</c> (upstream marks Succeeded/Failed pods <c>Completed</c>), or null when none.
    /// </summary>
    public static JsonArray? RowConditions(string resource, JsonObject obj)
    {
        ArgumentNullException.ThrowIfNull(obj);
        return Find(resource).RowConditions?.Invoke(obj);
    }

    /// <summary>Whether the resource has its own printer rather than the default Name/Created At table.</summary>
    public static bool HasPrinter(string resource) => s_printers.ContainsKey(resource);

    private static Printer Find(string resource) =>
        resource is not null && s_printers.TryGetValue(resource, out var printer) ? printer : s_default;

    private sealed record Column(string Name, string Type, string Format, string Description, int Priority);

    private sealed record Printer(
        Column[] Columns,
        Func<JsonObject, DateTimeOffset, JsonArray> Cells,
        Func<JsonObject, JsonArray?>? RowConditions = null);
}
