using System.Globalization;
using System.Text.RegularExpressions;

namespace Berth.Benchmarks.EndToEnd;

internal sealed partial class ProxySuite
{
    /// <summary>Command line of <c>Berth.Benchmarks proxy</c>; the defaults are the published configuration.</summary>
    internal sealed partial class Options
    {
        public const string Usage = """
            Usage: Berth.Benchmarks proxy [--mode cluster|relay] [--berth PATH] [--out FILE] [--duration 10s]
                                          [--connections 16] [--threads 1] [--rounds 3] [--bulk-mib 256]
                                          [--targets direct,berth,haproxy] [--workers N] [--haproxy-splice on|off]

              --mode cluster   (default) a real `berth server`, nginx as a process pod behind a ClusterIP Service;
                               targets: the pod IP, the ClusterIP (the node agent's proxy), HAProxy → the pod IP
              --mode relay     no server: nginx as a plain process on 127.81.N.2:8080, Berth's TCP relay in this
                               process on 127.81.N.3:80, HAProxy on 127.81.N.4:80, N random per run (for tuning
                               the relay alone)
              --berth PATH     the berth binary, cluster mode (default: $BERTH_BIN, else src/Berth/bin/Release/net10.0/berth)
              --out FILE       also write the markdown results to FILE
              --duration D     length of every measurement, e.g. 10s (default 10s)
              --connections N  wrk connections (default 16)
              --threads N      wrk threads (default 1)
              --rounds N       rounds, each measuring every target once per measurement (default 3)
              --bulk-mib N     size of the bulk file (default 256)
              --targets LIST   which targets to measure (default direct,berth,haproxy)
              --workers N      relay mode: Berth's relay threads (default: one per core); HAProxy gets as many threads
              --haproxy-splice on|off  HAProxy's `option splice-auto` (default on: its best bulk path)

            Needs wrk, haproxy and nginx: `sudo apt-get install -y wrk haproxy nginx-light`.
            """;

        private static readonly string[] s_allTargets = ["direct", "berth", "haproxy"];

        public string Mode { get; private set; } = "cluster";

        public string Berth { get; private set; } = "";

        public string? Out { get; private set; }

        public TimeSpan Duration { get; private set; } = TimeSpan.FromSeconds(10);

        public int Connections { get; private set; } = 16;

        public int Threads { get; private set; } = 1;

        public int Rounds { get; private set; } = 3;

        public long BulkBytes { get; private set; } = 256L << 20;

        public IReadOnlyList<string> Targets { get; private set; } = s_allTargets;

        public int Workers { get; private set; } = Environment.ProcessorCount;

        public bool HaProxySplice { get; private set; } = true;

        /// <summary>Every measurement of every round and the warm-up, plus 10 minutes for setting up and stopping.</summary>
        public TimeSpan Budget =>
            TimeSpan.FromMinutes(10) + ((Rounds + 1) * Targets.Count * 3 * (Duration + TimeSpan.FromSeconds(5)));

        public static Options Parse(string[] args)
        {
            var options = new Options();
            var rest = new List<string>();
            var workersGiven = false;
            for (var i = 0; i < args.Length; i++)
            {
                switch (args[i])
                {
                    case "--berth" or "--out":
                        rest.Add(args[i]);
                        rest.Add(Value(args, ref i));
                        break;
                    case "--mode":
                        var mode = Value(args, ref i);
                        options.Mode = mode is "cluster" or "relay" ? mode : throw new ArgumentException("--mode must be cluster or relay");
                        break;
                    case "--duration":
                        var duration = Value(args, ref i);
                        var match = DurationPattern().Match(duration);
                        options.Duration = match.Success && int.Parse(match.Groups["n"].Value, CultureInfo.InvariantCulture) is >= 1 and <= 600 and var seconds
                            ? TimeSpan.FromSeconds(seconds) : throw new ArgumentException($"--duration needs whole seconds from 1 to 600 such as 10s, not \"{duration}\"");
                        break;
                    case "--connections":
                        options.Connections = Count(args, ref i, 1, 1000);
                        break;
                    case "--threads":
                        options.Threads = Count(args, ref i, 1, 64);
                        break;
                    case "--rounds":
                        options.Rounds = Count(args, ref i, 1, 20);
                        break;
                    case "--bulk-mib":
                        options.BulkBytes = (long)Count(args, ref i, 1, 4096) << 20;
                        break;
                    case "--targets":
                        var targets = Value(args, ref i).Split(',', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries);
                        options.Targets = targets.Length > 0 && targets.All(s_allTargets.Contains)
                            ? [.. s_allTargets.Where(targets.Contains)] : throw new ArgumentException("--targets needs a comma-separated list of direct, berth, haproxy");
                        break;
                    case "--workers":
                        options.Workers = Count(args, ref i, 1, 256);
                        workersGiven = true;
                        break;
                    case "--haproxy-splice":
                        options.HaProxySplice = Value(args, ref i) switch
                        {
                            "on" => true,
                            "off" => false,
                            _ => throw new ArgumentException("--haproxy-splice must be on or off"),
                        };
                        break;
                    default:
                        throw new ArgumentException($"unknown option \"{args[i]}\"");
                }
            }
            if (options.Mode == "cluster")
            {
                // The node agent's proxy has one worker per core; HAProxy gets as many threads.
                if (workersGiven)
                {
                    throw new ArgumentException("--workers is for relay mode: `berth server` runs one proxy worker per core");
                }
                var shared = EndToEndOptions.Parse([.. rest]);
                options.Berth = shared.Berth;
                options.Out = shared.Out;
            }
            else
            {
                var berth = rest.IndexOf("--berth");
                if (berth >= 0)
                {
                    throw new ArgumentException("--berth is for cluster mode: relay mode runs Berth's relay in this process");
                }
                var outAt = rest.IndexOf("--out");
                options.Out = outAt >= 0 ? rest[outAt + 1] : null;
            }
            return options;
        }

        private static string Value(string[] args, ref int i) =>
            i + 1 < args.Length ? args[++i] : throw new ArgumentException($"{args[i]} needs a value");

        private static int Count(string[] args, ref int i, int min, int max)
        {
            var flag = args[i];
            return int.TryParse(Value(args, ref i), NumberStyles.None, CultureInfo.InvariantCulture, out var n) && n >= min && n <= max
                ? n : throw new ArgumentException($"{flag} needs a number from {min} to {max}");
        }

        [GeneratedRegex(@"^(?<n>\d+)s?$")]
        private static partial Regex DurationPattern();
    }
}
