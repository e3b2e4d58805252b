using System.Net;
using System.Net.Sockets;
using Berth.Node.Dns.Wire;

namespace Berth.Node.Dns.Cluster;

/// <summary>
/// One name of the zone and what it answers per type. Entries are immutable and shared between snapshots (only those
/// that depend on other names are made per snapshot); answers are encoded on first use and kept, so a warm lookup
/// allocates nothing.
/// </summary>
internal abstract class NameEntry
{
    /// <summary>Marks a slot whose answer was computed and is NODATA.</summary>
    private protected static readonly DnsAnswer s_noData = new(DnsRcode.NoError, [], [], []);

    protected NameEntry(string name) => Name = name;

    public string Name { get; }

    /// <summary>The positive answer for <paramref name="type"/>, or null for NODATA (the name exists, the type does not).</summary>
    public abstract DnsAnswer? Answer(DnsType type, ZoneSnapshot zone);

    /// <summary>
    /// The address records answering <paramref name="type"/> (A or AAAA) for this name, following in-zone CNAMEs
    /// (CoreDNS plugin/backend_lookup.go A/AAAA); <paramref name="previous"/> holds the CNAMEs already on the chain.
    /// </summary>
    public virtual IReadOnlyList<DnsRecord> Addresses(DnsType type, ZoneSnapshot zone, List<DnsRecord> previous) => [];

    /// <summary>A filled slot's answer: null for NODATA.</summary>
    protected static DnsAnswer? Unwrap(DnsAnswer answer) => ReferenceEquals(answer, s_noData) ? null : answer;

    /// <summary>
    /// Encodes a slot's answer the first time it is asked for, under the entry's lock so it happens once. Callers
    /// read the slot first (Volatile) and come here only when it is empty: creating the delegate allocates.
    /// </summary>
    protected DnsAnswer? Fill(ref DnsAnswer? slot, Func<DnsAnswer?> build)
    {
        lock (this)
        {
            var answer = slot;
            if (answer is null)
            {
                answer = build() ?? s_noData;
                Volatile.Write(ref slot, answer);
            }
            return Unwrap(answer);
        }
    }

    protected static DnsAnswer Positive(IReadOnlyList<DnsRecord> answers, IReadOnlyList<DnsRecord>? additional = null) =>
        new(DnsRcode.NoError, answers, [], additional ?? []);
}

/// <summary>A name that exists with no records of its own: svc.&lt;zone&gt;, &lt;ns&gt;.svc.&lt;zone&gt;, pod.&lt;zone&gt;, ...: NODATA for every type.</summary>
internal sealed class EmptyEntry : NameEntry
{
    public EmptyEntry(string name)
        : base(name)
    {
    }

    public override DnsAnswer? Answer(DnsType type, ZoneSnapshot zone) => null;
}

/// <summary>A name with one answer for one type: dns-version TXT, PTR names.</summary>
internal sealed class FixedEntry : NameEntry
{
    private readonly DnsType _type;
    private readonly DnsAnswer _answer;

    public FixedEntry(string name, DnsType type, DnsAnswer answer)
        : base(name)
    {
        _type = type;
        _answer = answer;
    }

    public override DnsAnswer? Answer(DnsType type, ZoneSnapshot zone) => type == _type ? _answer : null;
}

/// <summary>A reverse name (in-addr.arpa, ip6.arpa) of an address the zone knows: PTR only, encoded on first use.</summary>
internal sealed class PointerEntry : NameEntry
{
    private readonly string[] _targets;
    private readonly uint _ttl;
    private DnsAnswer? _ptr;

    public PointerEntry(string name, string[] targets, uint ttl)
        : base(name)
    {
        _targets = targets;
        _ttl = ttl;
    }

    public override DnsAnswer? Answer(DnsType type, ZoneSnapshot zone) =>
        type != DnsType.PTR ? null : Volatile.Read(ref _ptr) is { } ptr ? Unwrap(ptr) : Fill(ref _ptr, Build);

    private DnsAnswer? Build() => Positive([.. _targets.Select(t => DnsRecord.Ptr(Name, t, _ttl))]);
}

/// <summary>The zone apex: SOA and NS (CoreDNS kubernetes_apex_test.go); everything else NODATA.</summary>
internal sealed class ApexEntry : NameEntry
{
    private readonly DnsAnswer _soa;
    private readonly DnsAnswer _ns;

    public ApexEntry(string name, DnsRecord soa, DnsAnswer ns)
        : base(name)
    {
        _soa = Positive([soa]);
        _ns = ns;
    }

    public override DnsAnswer? Answer(DnsType type, ZoneSnapshot zone) => type switch
    {
        DnsType.SOA => _soa,
        DnsType.NS => _ns,
        _ => null,
    };
}

/// <summary>One address a name stands for, with the port and target its SRV record carries (CoreDNS msg.Service).</summary>
internal readonly record struct ZoneRecord(IPAddress Address, int Port, string Target);

/// <summary>
/// A name backed by addresses: a ClusterIP Service (one record per port and ClusterIP), a headless Service or an
/// endpoint name (one per endpoint address and port), _port._proto names, pods. A, AAAA and SRV are derived the way
/// CoreDNS's plugin/backend_lookup.go does; an entry with no records exists and answers NODATA.
/// </summary>
internal sealed class AddressEntry : NameEntry
{
    private readonly ZoneRecord[] _records;
    private readonly uint _ttl;
    private DnsAnswer? _a;
    private DnsAnswer? _aaaa;
    private DnsAnswer? _srv;

    public AddressEntry(string name, ZoneRecord[] records, uint ttl)
        : base(name)
    {
        _records = records;
        _ttl = ttl;
    }

    public override DnsAnswer? Answer(DnsType type, ZoneSnapshot zone) => type switch
    {
        DnsType.A => Volatile.Read(ref _a) is { } a ? Unwrap(a) : Fill(ref _a, () => AddressAnswer(AddressFamily.InterNetwork)),
        DnsType.AAAA => Volatile.Read(ref _aaaa) is { } aaaa ? Unwrap(aaaa) : Fill(ref _aaaa, () => AddressAnswer(AddressFamily.InterNetworkV6)),
        DnsType.SRV => Volatile.Read(ref _srv) is { } srv ? Unwrap(srv) : Fill(ref _srv, SrvAnswer),
        _ => null,
    };

    public override IReadOnlyList<DnsRecord> Addresses(DnsType type, ZoneSnapshot zone, List<DnsRecord> previous) =>
        Answer(type, zone)?.Answers ?? [];

    private DnsAnswer? AddressAnswer(AddressFamily family)
    {
        var records = new List<DnsRecord>();
        var seen = new HashSet<IPAddress>();
        foreach (var record in _records)
        {
            // backend_lookup.go A/AAAA: one record per distinct address of the family asked for.
            if (record.Address.AddressFamily == family && seen.Add(record.Address))
            {
                records.Add(DnsRecord.Address(Name, record.Address, _ttl));
            }
        }
        return records.Count == 0 ? null : Positive(records);
    }

    private DnsAnswer? SrvAnswer()
    {
        // backend_lookup.go SRV: every record counts towards the weight (100 / n, at least 1), records without a port
        // are skipped, and duplicates of (target, port) and (target, address) are dropped, so a dual-stack Service
        // gets one SRV of weight 50 and both addresses in Additional (handler_test.go svc-dual-stack).
        if (_records.Length == 0)
        {
            return null;
        }
        var weight = (ushort)Math.Max(1, 100 / _records.Length);
        var answers = new List<DnsRecord>();
        var additional = new List<DnsRecord>();
        var srvSeen = new HashSet<(string, int)>();
        var addressSeen = new HashSet<(string, IPAddress)>();
        foreach (var record in _records)
        {
            if (record.Port is < 0 or > ushort.MaxValue)
            {
                continue;
            }
            if (srvSeen.Add((record.Target, record.Port)))
            {
                answers.Add(DnsRecord.Srv(Name, 0, weight, (ushort)record.Port, record.Target, _ttl));
            }
            if (addressSeen.Add((record.Target, record.Address)))
            {
                additional.Add(DnsRecord.Address(record.Target, record.Address, _ttl));
            }
        }
        return answers.Count == 0 ? null : Positive(answers, additional);
    }
}

/// <summary>
/// An ExternalName Service: a CNAME to its target. When the target is in the cluster zone, A and AAAA answers carry
/// the target's records after the CNAME (handler_test.go "CNAME External To Internal Service"); such entries depend
/// on other names and are made afresh for every snapshot. Outside the zone the answer is the CNAME alone: CoreDNS
/// asks its upstream for the rest, which is the query handler's part here.
/// </summary>
internal sealed class AliasEntry : NameEntry
{
    /// <summary>backend_lookup.go: a chain stops after 8 CNAMEs.</summary>
    private const int MaxChain = 7;

    private readonly DnsRecord _cname;
    private readonly DnsAnswer _cnameAnswer;
    private readonly bool _inZone;
    private DnsAnswer? _a;
    private DnsAnswer? _aaaa;

    public AliasEntry(string name, string target, bool inZone, uint ttl)
        : base(name)
    {
        Target = target;
        _inZone = inZone;
        _cname = DnsRecord.Cname(name, target, ttl);
        _cnameAnswer = Positive([_cname]);
    }

    public string Target { get; }

    public override DnsAnswer? Answer(DnsType type, ZoneSnapshot zone) => type switch
    {
        DnsType.CNAME => _cnameAnswer,
        // The lambdas that capture the snapshot live in FillChain: a closure over a parameter is allocated on entry
        // to the method that declares it, even on the path that does not use it.
        DnsType.A => Volatile.Read(ref _a) is { } a ? Unwrap(a) : FillChain(ref _a, DnsType.A, zone),
        DnsType.AAAA => Volatile.Read(ref _aaaa) is { } aaaa ? Unwrap(aaaa) : FillChain(ref _aaaa, DnsType.AAAA, zone),
        _ => null,
    };

    public override IReadOnlyList<DnsRecord> Addresses(DnsType type, ZoneSnapshot zone, List<DnsRecord> previous)
    {
        // backend_lookup.go A: "x CNAME x" is a loop; a CNAME already on the chain or a chain of more than 8 ends it.
        if (Target == Name || previous.Count > MaxChain || previous.Exists(r => r.Name == _cname.Name && r.Data.AsSpan().SequenceEqual(_cname.Data)))
        {
            return [];
        }
        if (!_inZone)
        {
            return [_cname];
        }
        var next = zone.Find(Target);
        if (next is null)
        {
            return [];
        }
        previous.Add(_cname);
        var records = next.Addresses(type, zone, previous);
        return records.Count == 0 ? [] : [_cname, .. records];
    }

    private DnsAnswer? FillChain(ref DnsAnswer? slot, DnsType type, ZoneSnapshot zone) => Fill(ref slot, () => Chain(type, zone));

    private DnsAnswer? Chain(DnsType type, ZoneSnapshot zone)
    {
        var records = Addresses(type, zone, []);
        return records.Count == 0 ? null : Positive(records);
    }
}
