using Berth.Api.Models;
using Berth.Controllers.Deployments;

namespace Berth.Controllers.Tests.Deployments;

public sealed class PodTemplateHashTests
{
    private static PodTemplateSpec Template(params (string Key, string Value)[] labels) => new()
    {
        Metadata = new ObjectMeta { Labels = labels.ToDictionary(l => l.Key, l => l.Value) },
        Spec = new PodSpec { Containers = [new Container { Name = "web", Image = "nginx:1.27" }] },
    };

    [Fact]
    public void SafeEncodeString_MapsEachDigitThroughTheAlphabet()
    {
        // rand.SafeEncodeString: byte % 27 into "bcdfghjklmnpqrstvwxz2456789"; '0' is 48, 48 % 27 = 21 -> '4'.
        Assert.Equal("456789bcdf", PodTemplateHash.SafeEncodeString("0123456789"));
    }

    [Fact]
    public void Compute_SameTemplate_SameHashWhateverTheLabelOrder()
    {
        var hash = PodTemplateHash.Compute(Template(("app", "web"), ("tier", "front")), null);

        Assert.Equal(hash, PodTemplateHash.Compute(Template(("tier", "front"), ("app", "web")), null));
        // The decimal FNV-32a value, at most 10 digits, each spelled with the safe alphabet.
        Assert.Matches("^[456789bcdf]{1,10}$", hash);
    }

    [Fact]
    public void Compute_DifferentTemplateOrCollisionCount_DifferentHash()
    {
        var template = Template(("app", "web"));
        var other = Template(("app", "web"));
        other.Spec!.Containers![0].Image = "nginx:1.28";
        var hash = PodTemplateHash.Compute(template, null);

        Assert.NotEqual(hash, PodTemplateHash.Compute(other, null));
        // A collision count of 0 still changes the hash (upstream hashes the 8 bytes whenever the pointer is set).
        Assert.NotEqual(hash, PodTemplateHash.Compute(template, 0));
        Assert.NotEqual(PodTemplateHash.Compute(template, 0), PodTemplateHash.Compute(template, 1));
    }
}
