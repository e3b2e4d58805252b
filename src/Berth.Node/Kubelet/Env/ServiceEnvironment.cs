using System.Globalization;
using System.Net;
using Berth.Api.Models;

namespace Berth.Node.Kubelet.Env;

/// <summary>
/// The Service variables a container starts with: Kubernetes' own (upstream
/// <c>pkg/kubelet/kubelet_pods.go</c> getServiceEnvVarMap and <c>pkg/kubelet/envvars/envvars.go</c>
/// FromServices) and the .NET Aspire service-discovery form for the same Services.
/// </summary>
public static class ServiceEnvironment
{
    private const string MasterServiceNamespace = "default";
    private const string MasterServiceName = "kubernetes";

    /// <param name="services">Every Service the node knows, in any namespace.</param>
    /// <param name="podNamespace">The namespace of the pod the container belongs to.</param>
    /// <param name="enableServiceLinks">The pod's <c>spec.enableServiceLinks</c> (null means true).</param>
    public static IReadOnlyList<KeyValuePair<string, string>> Build(IEnumerable<Service> services, string podNamespace, bool enableServiceLinks)
    {
        ArgumentNullException.ThrowIfNull(services);
        var chosen = new Dictionary<string, Service>(StringComparer.Ordinal);
        foreach (var service in services)
        {
            var name = service.Metadata?.Name;
            if (string.IsNullOrEmpty(name) || !IsServiceIPSet(service))
            {
                continue;
            }

            // default/kubernetes is always injected, even with enableServiceLinks off; a Service of the same
            // name in the pod's own namespace replaces it when links are on, whichever the list gives first.
            if (service.Metadata?.Namespace == MasterServiceNamespace && name == MasterServiceName)
            {
                chosen.TryAdd(name, service);
            }
            else if (service.Metadata?.Namespace == podNamespace && enableServiceLinks)
            {
                chosen[name] = service;
            }
        }

        // Upstream walks a Go map (no order); sorting by name makes the result the same on every run.
        var result = new List<KeyValuePair<string, string>>();
        foreach (var service in chosen.Values.OrderBy(s => s.Metadata!.Name, StringComparer.Ordinal))
        {
            AddKubernetesVariables(service, result);
            AddAspireVariables(service, result);
        }

        return result;
    }

    private static bool IsServiceIPSet(Service service) =>
        service.Spec?.ClusterIP is { Length: > 0 } ip && ip != "None";

    private static void AddKubernetesVariables(Service service, List<KeyValuePair<string, string>> result)
    {
        var prefix = MakeEnvVariableName(service.Metadata!.Name!);
        var clusterIP = service.Spec!.ClusterIP!;
        var ports = service.Spec.Ports ?? [];
        result.Add(new(prefix + "_SERVICE_HOST", clusterIP));
        // Validation requires a port on a Service with a cluster IP; upstream would index past the end.
        if (ports.Count == 0)
        {
            return;
        }

        // The first port keeps the backwards-compatible name; named ports (only the first may be unnamed) get their own.
        var portName = prefix + "_SERVICE_PORT";
        result.Add(new(portName, FormatPort(ports[0])));
        foreach (var port in ports)
        {
            if (!string.IsNullOrEmpty(port.Name))
            {
                result.Add(new(portName + "_" + MakeEnvVariableName(port.Name), FormatPort(port)));
            }
        }

        // Docker-link variables.
        for (var i = 0; i < ports.Count; i++)
        {
            var port = ports[i];
            var protocol = string.IsNullOrEmpty(port.Protocol) ? "TCP" : port.Protocol;
            var lower = protocol.ToLowerInvariant();
            var url = $"{lower}://{clusterIP}:{FormatPort(port)}";
            if (i == 0)
            {
                result.Add(new(prefix + "_PORT", url));
            }

            var portPrefix = $"{prefix}_PORT_{FormatPort(port)}_{protocol.ToUpperInvariant()}";
            result.Add(new(portPrefix, url));
            result.Add(new(portPrefix + "_PROTO", lower));
            result.Add(new(portPrefix + "_PORT", FormatPort(port)));
            result.Add(new(portPrefix + "_ADDR", clusterIP));
        }
    }

    // Microsoft.Extensions.ServiceDiscovery reads endpoints from configuration keys
    // services:{service}:{endpointName}:{index} (environment form services__svc__name__0) holding URLs
    // (dotnet/extensions src/Libraries/Microsoft.Extensions.ServiceDiscovery/Configuration/ConfigurationServiceEndpointProvider.cs):
    // - "scheme://_name.svc" reads the section named "name" only;
    // - "http://svc" and "https+http://svc" have no endpoint name: the provider takes the first existing section
    //   among "default" then the query's schemes in order ("https", then "http"), then keeps only URLs whose
    //   scheme is the most preferred one present.
    // So each named TCP port is written under its name, and the scheme sections "http" and "https" point at the
    // port of that name, else at the first port of that scheme. No "default" section: it would be chosen before
    // the scheme sections and then filtered out whenever its scheme is not the one asked for.
    private static void AddAspireVariables(Service service, List<KeyValuePair<string, string>> result)
    {
        var name = service.Metadata!.Name!;
        var host = IPAddress.TryParse(service.Spec!.ClusterIP, out var ip) && ip.AddressFamily == System.Net.Sockets.AddressFamily.InterNetworkV6
            ? $"[{service.Spec.ClusterIP}]"
            : service.Spec.ClusterIP!;
        var written = new HashSet<string>(StringComparer.Ordinal);
        var tcpPorts = (service.Spec.Ports ?? []).Where(p => (p.Protocol ?? "TCP") == "TCP" && p.Port is > 0).ToList();

        void Add(string endpointName, ServicePort port)
        {
            if (written.Add(endpointName))
            {
                result.Add(new($"services__{name}__{endpointName}__0", $"{SchemeOf(port)}://{host}:{FormatPort(port)}"));
            }
        }

        foreach (var port in tcpPorts.Where(p => !string.IsNullOrEmpty(p.Name)))
        {
            Add(port.Name!, port);
        }

        foreach (var scheme in (ReadOnlySpan<string>)["http", "https"])
        {
            var port = tcpPorts.FirstOrDefault(p => p.Name == scheme) ?? tcpPorts.FirstOrDefault(p => SchemeOf(p) == scheme);
            if (port is not null)
            {
                Add(scheme, port);
            }
        }
    }

    // A port speaks TLS when its name or appProtocol says so, or, with neither saying, when it is 443.
    private static string SchemeOf(ServicePort port)
    {
        foreach (var hint in (ReadOnlySpan<string?>)[port.Name, port.AppProtocol])
        {
            if (hint is "https" or "http")
            {
                return hint;
            }
        }

        return port.Port == 443 ? "https" : "http";
    }

    private static string FormatPort(ServicePort port) => (port.Port ?? 0).ToString(CultureInfo.InvariantCulture);

    private static string MakeEnvVariableName(string name) => name.Replace('-', '_').ToUpperInvariant();
}
