using System.Globalization;

namespace Berth.Benchmarks.EndToEnd;

/// <summary>Command line of <c>Berth.Benchmarks e2e</c>. The defaults are the published configuration; smaller counts are for smoke runs.</summary>
internal sealed class EndToEndOptions
{
    public const string Usage = """
        Usage: Berth.Benchmarks e2e [--berth PATH] [--out FILE] [--objects N] [--watchers N] [--updates N] [--starts N]

          --berth PATH    the berth binary (default: $BERTH_BIN, else src/Berth/bin/Release/net10.0/berth in the repo)
          --out FILE      also write the markdown results to FILE
          --objects N     ConfigMaps created per concurrency level (default 10000)
          --watchers N    concurrent watch streams in the fan-out run (default 100)
          --updates N     updates written while watched (default 200, ~10 ms apart)
          --starts N      cold starts and warm restarts timed (default 5 each)
        """;

    public string Berth { get; private set; } = "";

    public string? Out { get; private set; }

    public int Objects { get; private set; } = 10_000;

    public int Watchers { get; private set; } = 100;

    public int Updates { get; private set; } = 200;

    public int Starts { get; private set; } = 5;

    public static EndToEndOptions Parse(string[] args)
    {
        var options = new EndToEndOptions();
        string? berth = null;
        for (var i = 0; i < args.Length; i++)
        {
            switch (args[i])
            {
                case "--berth":
                    berth = Value(args, ref i);
                    break;
                case "--out":
                    options.Out = Value(args, ref i);
                    break;
                case "--objects":
                    options.Objects = Count(args, ref i);
                    break;
                case "--watchers":
                    options.Watchers = Count(args, ref i);
                    break;
                case "--updates":
                    options.Updates = Count(args, ref i);
                    break;
                case "--starts":
                    options.Starts = Count(args, ref i);
                    break;
                default:
                    throw new ArgumentException($"unknown option \"{args[i]}\"");
            }
        }
        berth ??= Environment.GetEnvironmentVariable("BERTH_BIN");
        berth ??= FindRepoBinary() ?? throw new ArgumentException(
            "cannot find the berth binary: build it with `dotnet build src/Berth -c Release`, or pass --berth PATH (or set BERTH_BIN)");
        options.Berth = Path.GetFullPath(berth);
        if (!File.Exists(options.Berth))
        {
            throw new ArgumentException($"no berth binary at {options.Berth}");
        }
        return options;
    }

    private static string? FindRepoBinary()
    {
        foreach (var start in new[] { Environment.CurrentDirectory, AppContext.BaseDirectory })
        {
            for (var dir = new DirectoryInfo(start); dir is not null; dir = dir.Parent)
            {
                if (File.Exists(Path.Combine(dir.FullName, "Berth.slnx")))
                {
                    var candidate = Path.Combine(dir.FullName, "src", "Berth", "bin", "Release", "net10.0", "berth");
                    if (File.Exists(candidate))
                    {
                        return candidate;
                    }
                    break;
                }
            }
        }
        return null;
    }

    private static string Value(string[] args, ref int i) =>
        i + 1 < args.Length ? args[++i] : throw new ArgumentException($"{args[i]} needs a value");

    private static int Count(string[] args, ref int i)
    {
        var flag = args[i];
        return int.TryParse(Value(args, ref i), NumberStyles.None, CultureInfo.InvariantCulture, out var n) && n > 0
            ? n : throw new ArgumentException($"{flag} needs a positive number");
    }
}
