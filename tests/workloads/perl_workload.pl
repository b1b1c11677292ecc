# Hash- and string-heavy perl workload with allocator-independent output.
use strict;
use warnings;
my %h;
for my $i (1 .. 200000) {
  my $k = "key" . ($i * 7919 % 200003);
  $h{$k} = join(",", map { $_ * $i % 97 } 1 .. ($i % 20));
}
my $total = 0;
$total += length($h{$_}) for sort keys %h;
my @words = map { scalar reverse("w$_" x ($_ % 7)) } 1 .. 100000;
my $joined = join(" ", sort @words);
print scalar(keys %h), " $total ", length($joined), "\n";
