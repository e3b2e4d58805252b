using System.Text;
using Berth.Api.Models;
using Berth.Api.Serialization;

namespace Berth.Controllers.Tests.EndpointRules;

/// <summary>The fixtures of upstream's endpointslice utils_test.go (newPod, newServiceAndEndpointMeta) and a JSON view for deep comparison.</summary>
internal static class EndpointObjects
{
    /// <summary>
    /// Upstream newPod: pod{n} in <paramref name="ns"/>, labels foo=bar, on node-1, Ready as asked. Upstream gives pod
    /// n the IP 1.2.3.(4+n), which stops being an address past n = 251 (Go then publishes "&lt;nil&gt;"); here the
    /// count carries into the third octet (pod252 is 1.2.4.0), so every pod has its own valid address.
    /// </summary>
    public static Pod NewPod(int n, bool ready, bool terminating = false, string ns = "test")
    {
        var ip = $"1.2.{3 + (4 + n) / 256}.{(4 + n) % 256}";
        return new Pod
        {
            ApiVersion = "v1",
            Metadata = new ObjectMeta
            {
                Namespace = ns,
                Name = $"pod{n}",
                Labels = new() { ["foo"] = "bar" },
                DeletionTimestamp = terminating ? DateTimeOffset.UtcNow : null,
                ResourceVersion = n.ToString(System.Globalization.CultureInfo.InvariantCulture),
            },
            Spec = new PodSpec { Containers = [new Container { Name = "container-1" }], NodeName = "node-1" },
            Status = new PodStatus
            {
                PodIP = ip,
                PodIPs = [new PodIP { Ip = ip }],
                Conditions = [new PodCondition { Type = "Ready", Status = ready ? "True" : "False" }],
            },
        };
    }

    /// <summary>Upstream newServiceAndEndpointMeta's Service: selector foo=bar, IPv4, one TCP port named after it targeting 80.</summary>
    public static Service NewService(string name, string ns) => new()
    {
        Metadata = new ObjectMeta { Name = name, Namespace = ns, Uid = ns + "-" + name },
        Spec = new ServiceSpec
        {
            Ports = [new ServicePort { TargetPort = 80, Protocol = "TCP", Name = name }],
            Selector = new() { ["foo"] = "bar" },
            IpFamilies = ["IPv4"],
        },
    };

    public static string Json<T>(T value) => Encoding.UTF8.GetString(KubeJson.SerializeToUtf8Bytes(value));
}
