using Berth.Node.Proxy.Model;

namespace Berth.Node.Proxy.Tracking;

/// <summary>A Service by namespace and name (upstream's types.NamespacedName): the unit changes are tracked in.</summary>
internal readonly record struct ServiceKey(string Namespace, string Name)
{
    public static ServiceKey Of(ServicePortName port) => new(port.Namespace, port.Name);

    public override string ToString() => $"{Namespace}/{Name}";
}
