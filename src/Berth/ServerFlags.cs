using System.Globalization;
using System.Net;
using Berth.ApiServer;
using Berth.ApiServer.Allocation;
using Berth.Controllers;
using static Berth.CommandLine;

namespace Berth;

/// <summary>The flags of <c>berth server</c>, which <c>berth up</c> takes too: the API server's, the controllers' and the node agent's.</summary>
internal sealed class ServerFlags
{
    public ApiServerOptions Api { get; } = new();

    public NodeFlags Node { get; } = new();

    public string ClusterCidr { get; private set; } = "127.244.0.0/16";

    public TimeSpan NodeMonitorGracePeriod { get; private set; } = TimeSpan.FromSeconds(40);

    public TimeSpan NodeMonitorPeriod { get; private set; } = TimeSpan.FromSeconds(5);

    public TimeSpan EndpointUpdatesBatchPeriod { get; private set; } = ControllerOptions.DefaultEndpointUpdatesBatchPeriod;

    /// <summary>Consumes the flag at <paramref name="i"/> (and its value) when it is one of these; false otherwise.</summary>
    public bool TryParse(string[] args, ref int i)
    {
        if (Node.TryParse(args, ref i))
        {
            return true;
        }
        switch (args[i])
        {
            case "--cluster-cidr":
                ClusterCidr = Cidr(args, ref i);
                return true;
            case "--event-ttl":
                Api.EventTtl = Duration(args, ref i);
                return true;
            case "--node-monitor-grace-period":
                NodeMonitorGracePeriod = Duration(args, ref i);
                return true;
            case "--node-monitor-period":
                NodeMonitorPeriod = Duration(args, ref i);
                return true;
            case "--endpoint-updates-batch-period":
                EndpointUpdatesBatchPeriod = Duration(args, ref i, allowZero: true);
                return true;
            case "--default-not-ready-toleration-seconds":
                Api.DefaultNotReadyTolerationSeconds = Seconds(args, ref i);
                return true;
            case "--default-unreachable-toleration-seconds":
                Api.DefaultUnreachableTolerationSeconds = Seconds(args, ref i);
                return true;
            case "--data-dir":
                Api.DataDir = Value(args, ref i);
                return true;
            case "--api-port":
                Api.Port = int.TryParse(Value(args, ref i), NumberStyles.None, CultureInfo.InvariantCulture, out var port) && port <= 65535
                    ? port : throw new UsageException("--api-port must be a port number (0-65535)");
                return true;
            case "--bind-address":
                Api.BindAddress = IPAddress.TryParse(Value(args, ref i), out var ip) ? ip : throw new UsageException("--bind-address must be an IP address");
                return true;
            case "--datastore":
                Api.Datastore = Value(args, ref i);
                if (Api.Datastore != "sqlite")
                {
                    throw new UsageException($"--datastore {Api.Datastore} is not available yet; use sqlite");
                }
                return true;
            case "--service-cidr":
                Api.ServiceCidr = Cidr(args, ref i);
                return true;
            case "--load-balancer-pool":
                Api.LoadBalancerPool = Cidr(args, ref i);
                return true;
            case "--service-node-port-range":
                Api.NodePortRange = Value(args, ref i);
                if (!PortRange.TryParse(Api.NodePortRange, out _, out var rangeError))
                {
                    throw new UsageException($"--service-node-port-range: {rangeError}");
                }
                return true;
            default:
                return false;
        }
    }
}
