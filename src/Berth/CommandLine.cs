using System.Diagnostics;
using System.Globalization;
using System.Net;
using System.Net.Sockets;
using Berth.ApiServer;
using Berth.ApiServer.Allocation;
using Microsoft.Extensions.Hosting;

namespace Berth;

/// <summary>The `berth` command line: parsing and dispatch only; the components live in the libraries.</summary>
internal static class CommandLine
{
    private const string Usage = """
        Usage:
          berth server [--data-dir DIR] [--api-port N] [--bind-address IP] [--datastore sqlite]
                       [--service-cidr CIDR] [--service-node-port-range RANGE] [--load-balancer-pool CIDR]
              Runs the Kubernetes API server (and, in later releases, the controllers and a node agent).
              Writes DIR/kubeconfig (TLS + bearer token) once it listens.
          berth version
          berth help

        Defaults: --data-dir ./.berth, --api-port 6443, --bind-address 127.0.0.1, --datastore sqlite,
          --service-cidr 127.96.0.0/16 (kubernetes = .1, cluster DNS = .10), --service-node-port-range 30000-32767,
          --load-balancer-pool 127.100.0.0/16.
        """;

    public static async Task<int> RunAsync(string[] args)
    {
        if (args.Length == 0 || args[0] is "help" or "-h" or "--help")
        {
            Console.WriteLine(Usage);
            return args.Length == 0 ? 2 : 0;
        }
        try
        {
            return args[0] switch
            {
                "server" => await ServerAsync(args[1..]).ConfigureAwait(false),
                "version" or "--version" => Version(),
                _ => Fail($"unknown command \"{args[0]}\""),
            };
        }
        catch (UsageException e)
        {
            return Fail(e.Message);
        }
    }

    private static async Task<int> ServerAsync(string[] args)
    {
        var started = Stopwatch.GetTimestamp();
        var options = new ApiServerOptions();
        for (var i = 0; i < args.Length; i++)
        {
            switch (args[i])
            {
                case "--data-dir":
                    options.DataDir = Value(args, ref i);
                    break;
                case "--api-port":
                    options.Port = int.TryParse(Value(args, ref i), NumberStyles.None, CultureInfo.InvariantCulture, out var port) && port <= 65535
                        ? port : throw new UsageException("--api-port must be a port number (0-65535)");
                    break;
                case "--bind-address":
                    options.BindAddress = IPAddress.TryParse(Value(args, ref i), out var ip) ? ip : throw new UsageException("--bind-address must be an IP address");
                    break;
                case "--datastore":
                    options.Datastore = Value(args, ref i);
                    if (options.Datastore != "sqlite")
                    {
                        throw new UsageException($"--datastore {options.Datastore} is not available yet; use sqlite");
                    }
                    break;
                case "--service-cidr":
                    options.ServiceCidr = Cidr(args, ref i);
                    break;
                case "--load-balancer-pool":
                    options.LoadBalancerPool = Cidr(args, ref i);
                    break;
                case "--service-node-port-range":
                    options.NodePortRange = Value(args, ref i);
                    if (!PortRange.TryParse(options.NodePortRange, out _, out var rangeError))
                    {
                        throw new UsageException($"--service-node-port-range: {rangeError}");
                    }
                    break;
                default:
                    throw new UsageException($"unknown flag \"{args[i]}\"");
            }
        }
        options.DataDir = Path.GetFullPath(options.DataDir);

        await using var app = await ApiServerHost.BuildAsync(options).ConfigureAwait(false);
        try
        {
            await app.StartAsync().ConfigureAwait(false);
        }
        catch (IOException e) when (e.InnerException is SocketException { SocketErrorCode: SocketError.AddressAlreadyInUse } || e.Message.Contains("address already in use", StringComparison.OrdinalIgnoreCase))
        {
            return Fail($"cannot listen on {options.BindAddress}:{options.Port}: the address is already in use (pick another with --api-port)");
        }
        catch (IOException e) when (e.InnerException is SocketException { SocketErrorCode: SocketError.AccessDenied })
        {
            return Fail($"cannot listen on {options.BindAddress}:{options.Port}: permission denied (ports below 1024 need root)");
        }
        var url = ApiServerHost.ListeningUrl(app, options);
        var elapsed = Stopwatch.GetElapsedTime(started);
        Console.WriteLine($"berth: API server ready at {url} in {elapsed.TotalMilliseconds:F0} ms");
        Console.WriteLine($"berth: export KUBECONFIG={options.KubeconfigPath}");
        await app.WaitForShutdownAsync().ConfigureAwait(false);
        return 0;
    }

    private static int Version()
    {
        Console.WriteLine($"berth {typeof(CommandLine).Assembly.GetName().Version} (Kubernetes API v1.32)");
        return 0;
    }

    private static string Value(string[] args, ref int i)
    {
        if (i + 1 >= args.Length)
        {
            throw new UsageException($"flag {args[i]} needs a value");
        }
        return args[++i];
    }

    private static string Cidr(string[] args, ref int i)
    {
        var flag = args[i];
        var value = Value(args, ref i);
        return IPRange.TryParse(value, out _) ? value : throw new UsageException($"{flag} must be a CIDR such as 127.96.0.0/16, not \"{value}\"");
    }

    private static int Fail(string message)
    {
        Console.Error.WriteLine($"berth: {message}");
        return 2;
    }

    private sealed class UsageException(string message) : Exception(message);
}
