using Berth.Api.Models;

namespace Berth.Controllers.EndpointSlices;

/// <summary>Upstream staging/src/k8s.io/endpointslice/utils.go.</summary>
public static class EndpointSliceRules
{
    public const string ServiceNameLabel = "kubernetes.io/service-name";
    public const string ManagedByLabel = "endpointslice.kubernetes.io/managed-by";
    public const string ControllerName = "endpointslice-controller.k8s.io";
    public const string MirroringControllerName = "endpointslicemirroring-controller.k8s.io";
    public const int MaxEndpointsPerSlice = 100;

    public static Endpoint PodToEndpoint(Pod pod, Node? node, Service service, string addressType) => throw new NotImplementedException();

    public static List<EndpointSlicePort> GetEndpointPorts(Service service, Pod pod) => throw new NotImplementedException();

    public static List<string> GetEndpointAddresses(PodStatus status, Service service, string addressType) => throw new NotImplementedException();

    public static IReadOnlyList<string> AddressTypes(Service service) => throw new NotImplementedException();

    public static EndpointSlice NewEndpointSlice(Service service, IReadOnlyList<EndpointSlicePort> ports, string addressType, string controllerName) =>
        throw new NotImplementedException();

    public static (Dictionary<string, string> Labels, bool Changed) SetEndpointSliceLabels(EndpointSlice slice, Service service, string controllerName) =>
        throw new NotImplementedException();

    public static bool OwnedBy(EndpointSlice slice, Service service) => throw new NotImplementedException();

    public static bool ManagedByController(EndpointSlice slice, string controllerName) => throw new NotImplementedException();

    /// <summary>endpointutil.NewPortMapKey (order-independent).</summary>
    public static string PortMapKey(IEnumerable<EndpointSlicePort> ports) => throw new NotImplementedException();

    public static bool EndpointsEqualBeyondHash(Endpoint a, Endpoint b) => throw new NotImplementedException();
}
