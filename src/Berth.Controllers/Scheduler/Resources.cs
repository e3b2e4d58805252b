using System.Globalization;
using Berth.Api.Models;

namespace Berth.Controllers.Scheduler;

/// <summary>
/// An amount of each resource as the scheduler counts it (upstream framework.Resource): cpu in millicores, memory and
/// ephemeral storage in bytes, allowed pods, and scalar resources (extended resources, hugepages) by name.
/// </summary>
internal sealed class Resources
{
    // schedutil.DefaultMilliCPURequest / DefaultMemoryRequest: what a container without a request counts as when
    // spreading load, so many request-less pods do not pile onto one node.
    internal const long DefaultMilliCpuRequest = 100;
    internal const long DefaultMemoryRequest = 200L * 1024 * 1024;

    private static readonly Dictionary<string, string> s_empty = [];
    private static readonly Dictionary<string, long> s_noScalars = [];

    public long MilliCpu { get; set; }

    public long Memory { get; set; }

    public long EphemeralStorage { get; set; }

    public long AllowedPods { get; set; }

    public Dictionary<string, long>? Scalars { get; set; }

    public long Scalar(string name) => Scalars?.GetValueOrDefault(name) ?? 0;

    /// <summary>framework.Resource.Add over a ResourceList (quantities as the API writes them).</summary>
    public void Add(IReadOnlyDictionary<string, string>? list)
    {
        foreach (var (name, text) in list ?? s_empty)
        {
            if (!Quantities.TryParse(text, out var quantity))
            {
                continue;
            }
            switch (name)
            {
                case "cpu":
                    MilliCpu += Quantities.MilliValue(quantity);
                    break;
                case "memory":
                    Memory += Quantities.Value(quantity);
                    break;
                case "ephemeral-storage":
                    EphemeralStorage += Quantities.Value(quantity);
                    break;
                case "pods":
                    AllowedPods += Quantities.Value(quantity);
                    break;
                default:
                    if (IsScalarResourceName(name))
                    {
                        Scalars ??= new(StringComparer.Ordinal);
                        Scalars[name] = Scalar(name) + Quantities.Value(quantity);
                    }
                    break;
            }
        }
    }

    public void Add(Resources other)
    {
        MilliCpu += other.MilliCpu;
        Memory += other.Memory;
        EphemeralStorage += other.EphemeralStorage;
        AllowedPods += other.AllowedPods;
        foreach (var (name, value) in other.Scalars ?? s_noScalars)
        {
            Scalars ??= new(StringComparer.Ordinal);
            Scalars[name] = Scalar(name) + value;
        }
    }

    public void Subtract(Resources other)
    {
        MilliCpu -= other.MilliCpu;
        Memory -= other.Memory;
        EphemeralStorage -= other.EphemeralStorage;
        AllowedPods -= other.AllowedPods;
        foreach (var (name, value) in other.Scalars ?? s_noScalars)
        {
            Scalars ??= new(StringComparer.Ordinal);
            Scalars[name] = Scalar(name) - value;
        }
    }

    /// <summary>maxResourceList: each resource becomes the larger of the two.</summary>
    public void SetMax(Resources other)
    {
        MilliCpu = Math.Max(MilliCpu, other.MilliCpu);
        Memory = Math.Max(Memory, other.Memory);
        EphemeralStorage = Math.Max(EphemeralStorage, other.EphemeralStorage);
        AllowedPods = Math.Max(AllowedPods, other.AllowedPods);
        foreach (var (name, value) in other.Scalars ?? s_noScalars)
        {
            Scalars ??= new(StringComparer.Ordinal);
            Scalars[name] = Math.Max(Scalar(name), value);
        }
    }

    public Resources Clone() => new()
    {
        MilliCpu = MilliCpu,
        Memory = Memory,
        EphemeralStorage = EphemeralStorage,
        AllowedPods = AllowedPods,
        Scalars = Scalars is null ? null : new(Scalars, StringComparer.Ordinal),
    };

    /// <summary>
    /// resourcehelper.PodRequests: the containers' requests summed, restartable (sidecar) init containers added to
    /// them, then the maximum with each regular init container (plus the sidecars started before it), plus the
    /// pod overhead. With <paramref name="nonMissing"/>, a container without a cpu or memory request counts the
    /// scheduler's defaults (the NonZeroRequested used for scoring).
    /// </summary>
    public static Resources PodRequests(PodSpec? spec, bool nonMissing = false)
    {
        var requests = new Resources();
        foreach (var container in spec?.Containers ?? [])
        {
            requests.Add(ContainerRequests(container, nonMissing));
        }

        var sidecars = new Resources();
        var init = new Resources();
        foreach (var container in spec?.InitContainers ?? [])
        {
            var own = ContainerRequests(container, nonMissing);
            Resources use;
            if (container.RestartPolicy == "Always")
            {
                requests.Add(own);
                sidecars.Add(own);
                use = sidecars;
            }
            else
            {
                use = own.Clone();
                use.Add(sidecars);
            }
            init.SetMax(use);
        }
        requests.SetMax(init);
        requests.Add(spec?.Overhead);
        return requests;
    }

    /// <summary>
    /// schedutil.IsScalarResourceName: extended resources (a domain-prefixed name outside kubernetes.io), prefixed
    /// native resources (*kubernetes.io/*), hugepages-* and attachable-volumes-*.
    /// </summary>
    internal static bool IsScalarResourceName(string name) =>
        (name.Contains('/', StringComparison.Ordinal) && !name.StartsWith("requests.", StringComparison.Ordinal))
        || name.StartsWith("hugepages-", StringComparison.Ordinal)
        || name.StartsWith("attachable-volumes-", StringComparison.Ordinal);

    private static Resources ContainerRequests(Container container, bool nonMissing)
    {
        var own = new Resources();
        var requests = container.Resources?.Requests;
        own.Add(requests);
        if (nonMissing)
        {
            // applyNonMissing: only a request that is absent takes the default; an explicit 0 stays 0.
            if (requests?.ContainsKey("cpu") != true)
            {
                own.MilliCpu = DefaultMilliCpuRequest;
            }
            if (requests?.ContainsKey("memory") != true)
            {
                own.Memory = DefaultMemoryRequest;
            }
        }
        return own;
    }
}

/// <summary>
/// Resource quantities as written in the API ("500m", "2", "128Mi", "1G", "1e3"), read as exact decimals
/// (upstream apimachinery resource.Quantity; Value and MilliValue round up). The API server has validated them, so
/// a quantity that does not parse counts as nothing.
/// </summary>
internal static class Quantities
{
    public static bool TryParse(string? text, out decimal value)
    {
        value = 0;
        if (string.IsNullOrEmpty(text))
        {
            return false;
        }
        var span = text.AsSpan();
        var end = span[0] is '+' or '-' ? 1 : 0;
        var digits = 0;
        var dots = 0;
        for (; end < span.Length; end++)
        {
            if (char.IsAsciiDigit(span[end]))
            {
                digits++;
            }
            else if (span[end] == '.' && dots == 0)
            {
                dots++;
            }
            else
            {
                break;
            }
        }
        if (digits == 0
            || !decimal.TryParse(span[..end], NumberStyles.AllowLeadingSign | NumberStyles.AllowDecimalPoint, CultureInfo.InvariantCulture, out var number)
            || !TryMultiplier(span[end..], out var multiplier))
        {
            return false;
        }
        try
        {
            value = number * multiplier;
            return true;
        }
        catch (OverflowException)
        {
            return false;
        }
    }

    public static long Value(decimal quantity) => Clamp(decimal.Ceiling(quantity));

    public static long MilliValue(decimal quantity) =>
        quantity > long.MaxValue / 1000m ? long.MaxValue : Clamp(decimal.Ceiling(quantity * 1000));

    private static long Clamp(decimal value) => value >= long.MaxValue ? long.MaxValue : value <= long.MinValue ? long.MinValue : (long)value;

    private static bool TryMultiplier(ReadOnlySpan<char> suffix, out decimal multiplier)
    {
        multiplier = suffix switch
        {
            "" => 1m,
            "n" => 0.000000001m,
            "u" => 0.000001m,
            "m" => 0.001m,
            "k" => 1e3m,
            "M" => 1e6m,
            "G" => 1e9m,
            "T" => 1e12m,
            "P" => 1e15m,
            "E" => 1e18m,
            "Ki" => 1L << 10,
            "Mi" => 1L << 20,
            "Gi" => 1L << 30,
            "Ti" => 1L << 40,
            "Pi" => 1L << 50,
            "Ei" => 1L << 60,
            _ => 0m,
        };
        if (multiplier != 0)
        {
            return true;
        }
        // A decimal exponent: "e3", "E-2".
        if (suffix.Length >= 2 && suffix[0] is 'e' or 'E'
            && int.TryParse(suffix[1..], NumberStyles.AllowLeadingSign, CultureInfo.InvariantCulture, out var exponent)
            && exponent is >= -28 and <= 28)
        {
            multiplier = 1m;
            for (var i = 0; i < Math.Abs(exponent); i++)
            {
                multiplier = exponent > 0 ? multiplier * 10 : multiplier / 10;
            }
            return true;
        }
        return false;
    }
}
