using Berth.Api.Models;
using Berth.Api.Validation;
using Berth.Controllers.ServiceEndpoints;
using Berth.Controllers.EndpointSlices;
using Berth.Controllers.Framework;

namespace Berth.Controllers.EndpointSliceMirroring;

/// <summary>Upstream pkg/controller/endpointslicemirroring/utils.go: which Endpoints are mirrored, and how into what.</summary>
internal static class MirroringRules
{
    /// <summary>discovery.LabelSkipMirror: "true" keeps an Endpoints resource from being mirrored.</summary>
    public const string SkipMirrorLabel = "endpointslice.kubernetes.io/skip-mirror";

    /// <summary>resourcelock.LeaderElectionRecordAnnotationKey: such Endpoints are a lock, not a backend list.</summary>
    public const string LeaderElectionAnnotation = "control-plane.alpha.kubernetes.io/leader";

    /// <summary>corev1.LastAppliedConfigAnnotation: kubectl's record of the Endpoints, meaningless on a slice.</summary>
    public const string LastAppliedConfigAnnotation = "kubectl.kubernetes.io/last-applied-configuration";

    public const string IPv4 = "IPv4";
    public const string IPv6 = "IPv6";

    /// <summary>
    /// Upstream shouldMirror: false without Endpoints, with skip-mirror "true", or with a leader election record.
    /// Whether a Service without a selector exists is checked separately.
    /// </summary>
    public static bool ShouldMirror(Endpoints? endpoints) =>
        endpoints is not null
        && endpoints.Metadata?.Labels?.GetValueOrDefault(SkipMirrorLabel) != "true"
        && endpoints.Metadata?.Annotations?.ContainsKey(LeaderElectionAnnotation) != true;

    /// <summary>Upstream newAddrTypePortMapKey: the address type, a dash, and the order-independent port set key.</summary>
    public static string AddrTypePortMapKey(IEnumerable<EndpointSlicePort>? ports, string? addressType) =>
        $"{addressType}-{EndpointSliceRules.PortMapKey(ports ?? [])}";

    /// <summary>Upstream addrTypePortMapKey.addressType.</summary>
    public static string AddressTypeOf(string addrTypePortMapKey) =>
        addrTypePortMapKey.StartsWith(IPv6, StringComparison.Ordinal) ? IPv6 : IPv4;

    /// <summary>
    /// Upstream newEndpointSlice: owned by the Endpoints (a controller reference), with its labels (service-name and
    /// managed-by overwritten) and its annotations except the trigger time and kubectl's last-applied configuration.
    /// Without <paramref name="sliceName"/> the API server picks the name from the Endpoints' name.
    /// </summary>
    public static EndpointSlice NewEndpointSlice(Endpoints endpoints, List<EndpointSlicePort> ports, string addressType, string? sliceName)
    {
        var meta = endpoints.Metadata!;
        var labels = new Dictionary<string, string>(meta.Labels ?? [])
        {
            [EndpointSliceRules.ServiceNameLabel] = meta.Name!,
            [EndpointSliceRules.ManagedByLabel] = EndpointSliceRules.MirroringControllerName,
        };
        return new EndpointSlice
        {
            ApiVersion = "discovery.k8s.io/v1",
            Kind = "EndpointSlice",
            Metadata = new ObjectMeta
            {
                Name = string.IsNullOrEmpty(sliceName) ? null : sliceName,
                GenerateName = string.IsNullOrEmpty(sliceName) ? EndpointSliceRules.EndpointSlicePrefix(meta.Name!) : null,
                Namespace = meta.Namespace,
                Labels = labels,
                Annotations = MirroredAnnotations(meta.Annotations),
                OwnerReferences = [OwnerRefs.NewControllerRef(endpoints, "v1", "Endpoints")],
            },
            Ports = ports,
            AddressType = addressType,
            Endpoints = [],
        };
    }

    /// <summary>The annotations a mirrored slice carries: all of the Endpoints' but the two upstream leaves out.</summary>
    public static Dictionary<string, string> MirroredAnnotations(Dictionary<string, string>? annotations) =>
        CloneAndRemoveKeys(annotations, PodEndpointRules.LastChangeTriggerTimeAnnotation, LastAppliedConfigAnnotation);

    /// <summary>
    /// Upstream addressToEndpoint: null for an address that is no IP. The IP is re-formatted (as Go's net.IP.String)
    /// in case it was written irregularly ("010.0.0.1"); ready is whether it came from addresses or notReadyAddresses.
    /// </summary>
    public static (Endpoint? Endpoint, string? AddressType) AddressToEndpoint(EndpointAddress address, bool ready)
    {
        if (address.Ip is null || NetValidation.ParseIPSloppy(address.Ip) is not { } ip)
        {
            return (null, null);
        }
        var isIPv4 = NetValidation.IsIPv4String(address.Ip);
        var endpoint = new Endpoint
        {
            Addresses = [NetValidation.FormatIP(ip)],
            Conditions = new EndpointConditions { Ready = ready },
            TargetRef = address.TargetRef,
            NodeName = address.NodeName,
            Hostname = string.IsNullOrEmpty(address.Hostname) ? null : address.Hostname,
        };
        return (endpoint, isIPv4 ? IPv4 : IPv6);
    }

    /// <summary>
    /// Upstream epPortsToEpsPorts: each port copied field by field. Go copies the name as a pointer, so an unnamed
    /// port is named "" on the slice. The API server defaults a missing protocol to TCP, but Endpoints stored by Berth
    /// versions before it did may still lack one, so the default is applied here too.
    /// </summary>
    public static List<EndpointSlicePort> ToSlicePorts(IEnumerable<EndpointPort>? ports) =>
        [.. (ports ?? []).Select(p => new EndpointSlicePort
        {
            Name = p.Name ?? "",
            Port = p.Port,
            Protocol = string.IsNullOrEmpty(p.Protocol) ? "TCP" : p.Protocol,
            AppProtocol = p.AppProtocol,
        })];

    /// <summary>Upstream managedByController: the slice is labelled as this controller's.</summary>
    public static bool ManagedByMirroring(EndpointSlice slice) =>
        EndpointSliceRules.ManagedByController(slice, EndpointSliceRules.MirroringControllerName);

    /// <summary>Upstream managedByChanged: one of the two is this controller's and the other is not.</summary>
    public static bool ManagedByChanged(EndpointSlice a, EndpointSlice b) => ManagedByMirroring(a) != ManagedByMirroring(b);

    /// <summary>Upstream cloneAndRemoveKeys (a copy even when nothing is removed: callers compare it, never share it).</summary>
    public static Dictionary<string, string> CloneAndRemoveKeys(Dictionary<string, string>? map, params string[] keys)
    {
        var clone = new Dictionary<string, string>(map ?? []);
        foreach (var key in keys)
        {
            clone.Remove(key);
        }
        return clone;
    }
}
