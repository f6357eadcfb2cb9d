#!/usr/bin/perl
# Generates an org chart as an import body (JSON) on stdout:
#   perl bench/gen_org.pl [USERS] [DEPARTMENTS] [FIRST_DEPT_ID] > org.json
# Departments form a tree (10 top level, the rest spread below, up to 4
# levels); users get Chinese names, unique accounts and mobiles, and one or
# two departments.
use strict;
use warnings;
use utf8;
use JSON::PP;

my $nu = shift // 100_000;
my $nd = shift // 5_000;
my $first = shift // 100_000;

my @family = split //, '王李张刘陈杨黄赵吴周徐孙马朱胡郭何高林罗郑梁谢宋唐许韩冯邓曹彭曾萧田董潘袁蔡蒋余于杜叶程魏苏吕丁任沈姚卢姜崔钟谭陆汪范金石廖贾夏韦傅方白邹孟熊秦邱江尹薛闫段雷侯龙史陶黎贺顾毛郝龚邵万钱严覃武戴莫孔向汤';
my @given = split //, '伟芳娜秀英敏静丽强磊军洋勇艳杰娟涛明超秀兰霞平刚桂英华玉萍红娥玲芬燕彬鹏辉建国建华志强海燕淑珍春梅晶莉雪梅宇浩然子轩欣怡梓涵一鸣思远';
my @unit = split //, '研发测试市场销售财务人事行政法务采购客服运营产品设计';

srand(42);
my @depts;
for my $i (0 .. $nd - 1) {
    my $id = $first + $i;
    # parent: root for the first 10, else an earlier department
    my $parent = $i < 10 ? 0 : $first + int(rand($i < 110 ? 10 : $i < 1110 ? 110 : 1110));
    push @depts, { id => $id, parent_id => $parent, sort_id => $i % 100,
                   name => $unit[$i % @unit] . $unit[($i / @unit) % @unit] . "部$i" };
}

my @users;
for my $i (1 .. $nu) {
    my $d = $first + int(rand($nd));
    push @users, {
        account => "u$i",
        name => $family[rand @family] . $given[rand @given] . ($i % 3 ? $given[rand @given] : ''),
        gender => $i % 2,
        mobile => sprintf('139%08d', $i),
        email => "u$i\@example.com",
        title => ($i % 10 ? '工程师' : '经理'),
        departments => [ { dept_id => $d, position => ($i % 10 ? '' : '负责人'), weight => $i % 7 },
                         ($i % 5 ? () : { dept_id => $first + ($d - $first + 1) % $nd }) ],
    };
}

binmode STDOUT;
print JSON::PP->new->utf8->canonical->encode({ departments => \@depts, users => \@users });
