#!/usr/bin/env python3
"""What-if for issue 16 §3 (docs/validation.md, "Delta books"): a floor on the scan range from a
long lookback, R >= k * c * sigma_long * sqrt(h), acting on the price range only. Applied offline
to a futures book's margin from a keel-backtest run: m'_t = m_t * max(1, c * sigma_long_t /
sigma_m_t) (a future's MM is proportional to R), sigma_long an EWMA of daily squared log returns
with time constant tau. At c = 0 it reproduces the run's Keel row exactly.

  range_floor.py RUN_DIR DATA_DIR ASSET BOOK C TAU_DAYS
  e.g. range_floor.py /tmp/bt ../shared/data btc_usdt_daily long_future 0.95 1460
"""
import csv, math, sys
from math import log
def kupiec(x,n,p=0.01):
    if x==0: lr=-2*n*log(1-p)
    else:
        ph=x/n
        lr=-2*((n-x)*log(1-p)+x*log(p)-((n-x)*log(1-ph)+x*log(ph)))
    return math.erfc(math.sqrt(lr/2))  # chi2 1 dof survival
def christ(h):
    n00=n01=n10=n11=0
    for a,b in zip(h,h[1:]):
        if a==0 and b==0:n00+=1
        elif a==0 and b==1:n01+=1
        elif a==1 and b==0:n10+=1
        else:n11+=1
    pi0=n01/max(n00+n01,1);pi1=n11/max(n10+n11,1);pi=(n01+n11)/max(n00+n01+n10+n11,1)
    def L(p,a,b): return (a*log(1-p) if a and p<1 else 0)+(b*log(p) if b and p>0 else 0)
    lr=-2*(L(pi,n00+n10,n01+n11)-L(pi0,n00,n01)-L(pi1,n10,n11))
    return math.erfc(math.sqrt(max(lr,0)/2))
run,data,asset,book=sys.argv[1:5]; c=float(sys.argv[5]); tau_days=float(sys.argv[6])
vol={r['date']:float(r['margin_vol']) for r in csv.DictReader(open(f'{run}/series/vol_{asset}.csv'))}
px=[(r['date'],float(r['close'])) for r in csv.DictReader(open(f'{data}/{asset}.csv'))]
# long EWMA of annualised squared log returns, tau in days
lv={};v=None
for (d0,p0),(d1,p1) in zip(px,px[1:]):
    r2=log(p1/p0)**2*365
    w=1-math.exp(-1/tau_days)
    v=r2 if v is None else v+w*(r2-v)
    lv[d1]=math.sqrt(v)
rows=list(csv.DictReader(open(f'{run}/series/{book}_{asset}.csv')))
m2=[];hits=[]
for r in rows:
    d=r['date'];m=float(r['margin: Keel']);N=float(r['notional']);L=float(r['loss'])
    s=vol.get(d); sl=lv.get(d)
    f=max(1.0,c*sl/s) if (s and sl) else 1.0
    mm=m*f; m2.append((d,mm/N,L/N)); hits.append(1 if L>mm else 0)
n=len(hits);x=sum(hits)
losses=sorted([l for _,_,l in m2],reverse=True);k=max(1,int(round(0.01*n)));es=sum(losses[:k])/k
avg=sum(m for _,m,_ in m2)/n
rise=max(m2[i+5][1]/m2[i][1]-1 for i in range(n-5) if m2[i][1]>0)
print(f"{book} {asset} c={c} tau={tau_days}d: {x}/{n} Kup {kupiec(x,n):.3f} Chr {christ(hits):.3f} M/ES {avg/es:.2f} rise {rise*100:+.0f}%")
