using System.Globalization;
using System.Text;
using Berth.Api.Models;
using Berth.Api.Services;
using Berth.Api.Validation;
using Berth.Controllers.ServiceEndpoints;

namespace Berth.Controllers.EndpointSlices;

/// <summary>
/// Upstream k8s.io/endpointslice utils.go and util/controller_utils.go: how a pod becomes an endpoint, how a slice of a
/// Service is named, labelled and owned, and the keys slices are grouped and compared by. Shared by the slice
/// reconciler, the slice controller and the mirroring controller.
/// </summary>
public static class EndpointSliceRules
{
    public const string ServiceNameLabel = "kubernetes.io/service-name";
    public const string ManagedByLabel = "endpointslice.kubernetes.io/managed-by";
    public const string ControllerName = "endpointslice-controller.k8s.io";
    public const string MirroringControllerName = "endpointslicemirroring-controller.k8s.io";
    public const int MaxEndpointsPerSlice = 100;

    public const string AddressTypeIPv4 = "IPv4";
    public const string AddressTypeIPv6 = "IPv6";

    /// <summary>
    /// podToEndpoint: serving = the pod is Ready; ready = serving and not terminating (for compatibility ready is never
    /// true for a terminating pod), or always with publishNotReadyAddresses.
    /// </summary>
    public static Endpoint PodToEndpoint(Pod pod, Node? node, Service service, string addressType)
    {
        ArgumentNullException.ThrowIfNull(pod);
        ArgumentNullException.ThrowIfNull(service);
        var serving = PodEndpointRules.IsPodReady(pod);
        var terminating = PodEndpointRules.IsTerminating(pod);
        var ready = service.Spec?.PublishNotReadyAddresses == true || (serving && !terminating);
        return new Endpoint
        {
            Addresses = GetEndpointAddresses(pod.Status ?? new PodStatus(), service, addressType),
            Conditions = new EndpointConditions { Ready = ready, Serving = serving, Terminating = terminating },
            TargetRef = new ObjectReference
            {
                Kind = "Pod",
                Namespace = pod.Metadata?.Namespace,
                Name = pod.Metadata?.Name,
                Uid = pod.Metadata?.Uid,
            },
            NodeName = pod.Spec?.NodeName is { Length: > 0 } nodeName ? nodeName : null,
            Zone = PodEndpointRules.Zone(node),
            Hostname = PodEndpointRules.ShouldSetHostname(pod, service) ? pod.Spec!.Hostname : null,
        };
    }

    /// <summary>
    /// getEndpointPorts: one port per Service port that resolves on this pod (a named targetPort may resolve to a
    /// different number on each pod, or not at all; those are left out).
    /// </summary>
    public static List<EndpointSlicePort> GetEndpointPorts(Service service, Pod pod)
    {
        ArgumentNullException.ThrowIfNull(service);
        ArgumentNullException.ThrowIfNull(pod);
        var ports = new List<EndpointSlicePort>();
        foreach (var servicePort in service.Spec?.Ports ?? [])
        {
            if (PodEndpointRules.FindPort(pod, servicePort) is not { } number)
            {
                continue;
            }
            ports.Add(new EndpointSlicePort
            {
                Name = servicePort.Name ?? "",
                Port = number,
                Protocol = servicePort.Protocol,
                AppProtocol = servicePort.AppProtocol,
            });
        }
        return ports;
    }

    /// <summary>
    /// getEndpointAddresses: the pod IPs of the address type's family, in canonical form (parsed as Go's ParseIPSloppy,
    /// where IPv4 octets may have leading zeros read as decimal, and printed as Go's net.IP.String).
    /// </summary>
    public static List<string> GetEndpointAddresses(PodStatus status, Service service, string addressType)
    {
        ArgumentNullException.ThrowIfNull(status);
        var addresses = new List<string>();
        foreach (var podIP in status.PodIPs ?? [])
        {
            // Upstream would add an unparseable IP as "<nil>"; validation keeps them out of pod status, so skip them.
            if (string.IsNullOrEmpty(podIP.Ip) || NetValidation.ParseIPSloppy(podIP.Ip) is not { } ip)
            {
                continue;
            }
            if (NetValidation.IsIPv4(ip) ? addressType == AddressTypeIPv4 : addressType == AddressTypeIPv6)
            {
                addresses.Add(NetValidation.FormatIP(ip));
            }
        }
        return addresses;
    }

    /// <summary>
    /// getAddressTypesForService: the Service's ipFamilies, in order. Without them (objects from before dual-stack
    /// defaulting), the ClusterIP's family, or for a headless Service both.
    /// </summary>
    public static IReadOnlyList<string> AddressTypes(Service service)
    {
        ArgumentNullException.ThrowIfNull(service);
        var types = new List<string>();
        foreach (var family in service.Spec?.IpFamilies ?? [])
        {
            if (family is AddressTypeIPv4 or AddressTypeIPv6 && !types.Contains(family))
            {
                types.Add(family);
            }
        }
        if (types.Count > 0)
        {
            return types;
        }
        if (service.Spec?.ClusterIP is { Length: > 0 } clusterIP && clusterIP != ServiceRules.ClusterIPNone)
        {
            return [clusterIP.Contains(':', StringComparison.Ordinal) ? AddressTypeIPv6 : AddressTypeIPv4];
        }
        return [AddressTypeIPv4, AddressTypeIPv6];
    }

    /// <summary>
    /// newEndpointSlice: an empty slice named "&lt;service&gt;-" + a generated suffix, controlled by the Service (so the
    /// garbage collector deletes it with the Service), labelled by <see cref="SetEndpointSliceLabels"/>.
    /// </summary>
    public static EndpointSlice NewEndpointSlice(Service service, IReadOnlyList<EndpointSlicePort> ports, string addressType, string controllerName)
    {
        ArgumentNullException.ThrowIfNull(service);
        ArgumentNullException.ThrowIfNull(ports);
        var slice = new EndpointSlice
        {
            Metadata = new ObjectMeta
            {
                Labels = [],
                GenerateName = EndpointSlicePrefix(service.Metadata?.Name ?? ""),
                OwnerReferences =
                [
                    new OwnerReference
                    {
                        ApiVersion = "v1",
                        Kind = "Service",
                        Name = service.Metadata?.Name,
                        Uid = service.Metadata?.Uid,
                        Controller = true,
                        BlockOwnerDeletion = true,
                    },
                ],
                Namespace = service.Metadata?.Namespace,
            },
            Ports = [.. ports],
            AddressType = addressType,
            Endpoints = [],
        };
        slice.Metadata.Labels = SetEndpointSliceLabels(slice, service, controllerName).Labels;
        return slice;
    }

    /// <summary>
    /// setEndpointSliceLabels: the slice's labels are the Service's, except the reserved service-name, managed-by and
    /// headless labels, which the controller sets itself (a Service cannot hijack them). Changed reports whether the
    /// copied (non-reserved) labels differ from the slice's, i.e. whether the slice needs an update for them.
    /// </summary>
    public static (Dictionary<string, string> Labels, bool Changed) SetEndpointSliceLabels(EndpointSlice slice, Service service, string controllerName)
    {
        ArgumentNullException.ThrowIfNull(slice);
        ArgumentNullException.ThrowIfNull(service);
        var sliceLabels = (slice.Metadata?.Labels ?? []).Where(static l => !IsReservedLabelKey(l.Key)).ToDictionary();
        var labels = (service.Metadata?.Labels ?? []).Where(static l => !IsReservedLabelKey(l.Key)).ToDictionary();
        var changed = sliceLabels.Count != labels.Count
            || labels.Any(l => !sliceLabels.TryGetValue(l.Key, out var value) || value != l.Value);

        // isServiceIPSet: without a cluster IP (headless, or ExternalName) the slice is labelled headless.
        if (service.Spec?.ClusterIP is not { Length: > 0 } clusterIP || clusterIP == ServiceRules.ClusterIPNone)
        {
            labels[ServiceRules.HeadlessLabel] = "";
        }
        labels[ServiceNameLabel] = service.Metadata?.Name ?? "";
        labels[ManagedByLabel] = controllerName;
        return (labels, changed);
    }

    /// <summary>ownedBy: the slice has an owner reference to this Service (by uid, kind Service, apiVersion v1).</summary>
    public static bool OwnedBy(EndpointSlice slice, Service service)
    {
        ArgumentNullException.ThrowIfNull(slice);
        ArgumentNullException.ThrowIfNull(service);
        return slice.Metadata?.OwnerReferences?.Any(o =>
            o.Uid == service.Metadata?.Uid && o.Kind == "Service" && o.ApiVersion == "v1") == true;
    }

    /// <summary>managedByController: the slice's managed-by label names <paramref name="controllerName"/>.</summary>
    public static bool ManagedByController(EndpointSlice slice, string controllerName)
    {
        ArgumentNullException.ThrowIfNull(slice);
        return (slice.Metadata?.Labels?.GetValueOrDefault(ManagedByLabel) ?? "") == controllerName;
    }

    /// <summary>
    /// endpointutil.NewPortMapKey: the identity of a set of ports, the same whatever their order (and for none at
    /// all), distinguishing an absent field from an empty one as upstream's hash does.
    /// </summary>
    public static string PortMapKey(IEnumerable<EndpointSlicePort> ports)
    {
        ArgumentNullException.ThrowIfNull(ports);
        var keys = ports.Select(static p =>
        {
            var key = new StringBuilder();
            AppendField(key, p.Name);
            AppendField(key, p.Port?.ToString(CultureInfo.InvariantCulture));
            AppendField(key, p.Protocol);
            AppendField(key, p.AppProtocol);
            return key.ToString();
        }).Order(StringComparer.Ordinal);
        return string.Join(";", keys);
    }

    /// <summary>
    /// EndpointsEqualBeyondHash: equal in what the endpoint hash (<see cref="EndpointSet"/>) leaves out: node, zone,
    /// conditions and target (ignoring its resourceVersion, so a pod's unrelated updates do not rewrite slices).
    /// </summary>
    public static bool EndpointsEqualBeyondHash(Endpoint a, Endpoint b)
    {
        ArgumentNullException.ThrowIfNull(a);
        ArgumentNullException.ThrowIfNull(b);
        return a.NodeName == b.NodeName
            && a.Zone == b.Zone
            && a.Conditions?.Ready == b.Conditions?.Ready
            && a.Conditions?.Serving == b.Conditions?.Serving
            && a.Conditions?.Terminating == b.Conditions?.Terminating
            && TargetsEqual(a.TargetRef, b.TargetRef);
    }

    /// <summary>
    /// endpointsliceutil.ServiceControllerKey (the mirroring controller's endpointsControllerKey is the same):
    /// "namespace/name" of the Service, and of its Endpoints, a slice belongs to by its service-name label; null
    /// without one.
    /// </summary>
    public static string? ServiceKey(EndpointSlice slice)
    {
        ArgumentNullException.ThrowIfNull(slice);
        return slice.Metadata?.Labels?.GetValueOrDefault(ServiceNameLabel) is { Length: > 0 } service
            ? (slice.Metadata.Namespace ?? "") + "/" + service
            : null;
    }

    /// <summary>Appends a field so that no two field sequences give the same text: null as "~", else length:value|.</summary>
    internal static void AppendField(StringBuilder key, string? value)
    {
        if (value is null)
        {
            key.Append("~|");
            return;
        }
        key.Append(value.Length.ToString(CultureInfo.InvariantCulture)).Append(':').Append(value).Append('|');
    }

    /// <summary>
    /// getEndpointSlicePrefix (the slice and mirroring controllers each have this copy): "&lt;service&gt;-" reads
    /// better, unless the dash would make an invalid name (too long); the check is NameIsDNSSubdomain with
    /// prefix=true, which masks the trailing dash (it is followed by a suffix).
    /// </summary>
    internal static string EndpointSlicePrefix(string serviceName)
    {
        var prefix = serviceName + "-";
        var masked = prefix.Length > 1 ? serviceName + "a" : prefix;
        return NameValidation.IsDns1123Subdomain(masked).Count == 0 ? prefix : serviceName;
    }

    private static bool IsReservedLabelKey(string key) =>
        key is ServiceNameLabel or ManagedByLabel or ServiceRules.HeadlessLabel;

    private static bool TargetsEqual(ObjectReference? a, ObjectReference? b) =>
        a is null || b is null
            ? a is null && b is null
            : a.ApiVersion == b.ApiVersion && a.Kind == b.Kind && a.Namespace == b.Namespace && a.Name == b.Name
                && a.Uid == b.Uid && a.FieldPath == b.FieldPath;
}
