/*
 * urlfeatures.h - the lexical features of one link, for the URL model.
 *
 * A phishing or malware link gives itself away in its shape: an IP address
 * for a host, many subdomains, a bank's or a shop's name outside that
 * brand's own domain, "login"/"verify" in the path, a cheap TLD, a long
 * random-looking host.  The URL model (a model bundle of kind "url") scores
 * these together with character and word n-grams of the link without its
 * scheme: the 2016 training data has benign links almost always on http://,
 * a shortcut that would not carry over to today's traffic.
 */
#ifndef HB_URLFEATURES_H
#define HB_URLFEATURES_H

#include "featurize.h"
#include "normalize.h"
#include "urls.h"

/* Build the feature vector of the normalised link u into v (cleared
 * first); scratch is a reusable hb_text.  Returns 0 or HB_ENOMEM. */
int hb_url_features(const hb_feature_config *cfg, const hb_url *u, hb_text *scratch,
                    hb_fvec *v);

#endif
